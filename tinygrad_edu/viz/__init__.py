"""Pictures of what the engine does: computation graphs, step-by-step backward passes,
network diagrams and plots.

    g = tg.viz.draw_graph(loss, names=locals())   # a graphviz.Digraph; shows in Jupyter
    tg.viz.render(g, "graph.svg")                  # or .png / .pdf (needs Graphviz `dot`)
    tg.viz.explain(loss, names=locals(), print=True)  # the chain rule, written out
    tg.viz.draw_network(model, highlight=(1, 0))   # layers of units, weights by sign
    tg.viz.plot_history(model)                     # matplotlib Figures (matplotlib optional)

At import time this package imports no other part of tinygrad_edu than the core
(autograd, tensor); draw_network reads nn's layers when it is called.
"""
from .explainer import Explanation, GraphTooLargeError, explain
from .graph import ComputationGraph, GraphvizNotFoundError, draw_graph, render, save_source
from .landscape import plot_decision_boundaries_over_epochs, plot_loss_landscape
from .network import NetworkDiagram, draw_network
from .plots import (
    plot_activations,
    plot_decision_boundary,
    plot_first_layer,
    plot_history,
    plots_available,
)
from .rbm import plot_gibbs_chain, plot_rbm_filters, plot_rbm_history
from .steps import BackwardSteps, backward_steps

__all__ = ["ComputationGraph", "Explanation", "GraphTooLargeError", "GraphvizNotFoundError",
           "NetworkDiagram", "draw_graph", "draw_network", "explain", "plot_activations",
           "plot_decision_boundary", "plot_first_layer", "plot_history", "plots_available", "render",
           "save_source", "plot_gibbs_chain", "plot_rbm_filters", "plot_rbm_history",
           "plot_decision_boundaries_over_epochs", "plot_loss_landscape",
           "BackwardSteps", "backward_steps"]
