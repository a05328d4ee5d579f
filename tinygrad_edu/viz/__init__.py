"""Pictures of what the engine does: computation graphs and step-by-step backward passes.

    g = tg.viz.draw_graph(loss, names=locals())   # a graphviz.Digraph; shows in Jupyter
    tg.viz.render(g, "graph.svg")                  # or .png / .pdf (needs Graphviz `dot`)
    tg.viz.explain(loss, names=locals(), print=True)  # the chain rule, written out

This package imports no other part of tinygrad_edu than the core (autograd, tensor).
"""
from .explainer import Explanation, GraphTooLargeError, explain
from .graph import ComputationGraph, GraphvizNotFoundError, draw_graph, render, save_source

__all__ = ["ComputationGraph", "Explanation", "GraphTooLargeError", "GraphvizNotFoundError",
           "draw_graph", "explain", "render", "save_source"]
