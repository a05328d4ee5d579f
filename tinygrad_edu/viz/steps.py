"""`backward_steps`: the backward pass as a slide show, one frame per step of the walk.

The reference engine (`tinygrad_edu.reference.backward`) takes the tensors from the
loss down to the leaves; when a tensor comes up its gradient is complete, and the op
that made it sends a share of it to each input. `backward_steps` draws the computation
graph once per step, with `draw_graph`:

- the tensor being processed and its op are highlighted (yellow), and the edges along
  which the gradient goes back are red;
- a note beside the op gives its incoming gradient g and its local derivatives, and
  stays (grey) once the op has run;
- each tensor's gradient fills in as its shares arrive: nothing before the first one,
  then ``dL/da = 6``, and ``dL/da = 6 + 3 + 3 = 12`` once other paths have reached it
  (a tensor used more than once adds up the gradients of all its paths).

The names and the numbers are those of `explain` for the same ``names=``, and the text
under each frame is explain's own paragraph for that tensor.

    steps = tg.viz.backward_steps(loss, names=locals())
    steps                            # in Jupyter: a slider over the frames
    steps.to_html("backprop.html")   # one self-contained page: slider, buttons, arrow keys
    steps.save("frames")             # frames/frame_000.svg, frame_001.svg, ...
"""
from __future__ import annotations

import collections
import collections.abc
import html
import os
import pathlib
import re
import tempfile
import uuid

import numpy as np

from ..reference import toposort
from ..tensor import Tensor
from .explainer import explain
from .fmt import fmt_array, fmt_rows, fmt_values
from .formula import formula_of
from .graph import GraphvizNotFoundError, _fid, _tensor_label, _tid, draw_graph, render
from .graphwalk import backprop, is_parameter, walk

# the highlighted node (an op that runs, or a tensor), the tensor whose gradient the op
# passes on, a tensor receiving a share, the edges along which the gradient goes back
_NOW = 'fillcolor="#fde047" color="#a16207" penwidth=3.5 class="tg-current"'
_PASSED_ON = 'fillcolor="#fef08a" color="#a16207" penwidth=2.2 class="tg-passed-on"'
_RECEIVER = 'color="#dc2626" penwidth=2.2'
_FLOW = 'color="#dc2626" fontcolor="#b91c1c" penwidth=2.6'
_GRAD = "#b91c1c"
_DONE = "#64748b"
# the note beside an op: before it runs (not drawn, but its place kept), running, done
_NOTE = 'shape=note fontsize=10 margin="0.1,0.05"'
_NOTE_STATES = {
    "before": "style=invis",
    "now": 'style=filled fillcolor="#fef9c3" color="#a16207" fontcolor="#422006" penwidth=2',
    "done": f'style=filled fillcolor="#f8fafc" color="#cbd5e1" fontcolor="{_DONE}" penwidth=1',
}
_NOTE_EDGE = {"before": "style=invis", "now": 'color="#a16207"', "done": 'color="#cbd5e1"'}
_ONE_LINE = 30  # a fan-out sum longer than this is written one share per line
_FONT_SIZE = 11  # points, of a gradient row
_NARROW, _WIDE = frozenset(" .,:;/()[]|'-!ijlft"), frozenset("mwMW")
_ONE_ROW, _ROW = 6, 5  # wrap="auto": a longer chain of ops goes in rows of at most _ROW
_EDGE = re.compile(r"\t(\S+) -> (\S+)(?: \[(.*)\])?\n")


class Frame:
    """One step of the backward pass.

    ``index``        its place (0 is the loss itself, dL/dL = 1).
    ``node``         the tensor being processed (the loss in frame 0).
    ``node_name``    its name, as `explain` writes it.
    ``highlighted``  the DOT id of the node drawn highlighted (the <title> of its group
                     in the SVG): the op that made ``node`` when it has one (it runs in
                     this step), else ``node`` itself.
    ``caption``      what happens in this step; from frame 1 on it ends with explain's
                     paragraph for the tensor.
    ``gradients``    {name: dL/d(name) so far} for the tensors reached up to this step.
    ``digraph``      the picture, a `graphviz.Digraph` (shows itself in Jupyter).
    """

    __slots__ = ("caption", "digraph", "gradients", "highlighted", "index", "node",
                 "node_name")

    def __init__(self, index, node, node_name, caption, gradients, digraph, highlighted):
        self.index, self.node, self.node_name = index, node, node_name
        self.caption, self.gradients, self.digraph = caption, gradients, digraph
        self.highlighted = highlighted

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
        return self.digraph._repr_mimebundle_(include, exclude, **kwargs)

    def __repr__(self):
        return f"<Frame {self.index}: {self.node_name}>"


class BackwardSteps(collections.abc.Sequence):
    """The frames of a backward pass, made by `backward_steps`; a sequence of `Frame`.

    ``len(steps)`` is one more than the number of tensors the walk reaches (frame 0
    is the loss, dL/dL = 1). ``explanation`` is the `Explanation` the names and
    numbers come from, ``loss_name`` the loss's name in it.

    save(directory)  one SVG per frame: frame_000.svg, frame_001.svg, ...
    to_html(path)    one self-contained HTML page (every SVG inline, no network, no
                     script from elsewhere): a slider, Previous/Next buttons and the
                     left/right arrow keys, the caption under the picture.
    In Jupyter it shows as that slider. Rendering needs Graphviz's ``dot``; without it
    these raise `GraphvizNotFoundError` saying how to install it.
    """

    def __init__(self, frames, explanation, loss_name):
        self._frames = list(frames)
        self.explanation = explanation
        self.loss_name = loss_name

    def __len__(self):
        return len(self._frames)

    def __getitem__(self, index):
        return self._frames[index]

    @property
    def _title(self):
        return f"The backward pass of {self.loss_name}, step by step"

    def __repr__(self):
        return f"<BackwardSteps of {self.loss_name}: {len(self)} frames>"

    def save(self, directory):
        """Write frame_000.svg, frame_001.svg, ... into ``directory``; return their paths."""
        directory = pathlib.Path(os.fspath(directory))
        width = max(3, len(str(len(self) - 1)))
        return [render(f.digraph, directory / f"frame_{f.index:0{width}d}.svg")
                for f in self._frames]

    def to_html(self, path):
        """Write the frames as one self-contained HTML page to ``path``; return the path."""
        path = pathlib.Path(os.fspath(path))
        page = (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
                f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
                f"<title>{html.escape(self._title)}</title>\n<style>{_PAGE_CSS}{_CSS}</style>\n"
                f"</head>\n<body>\n{self._widget('tgs', page=True)}\n</body>\n</html>\n")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(page, encoding="utf-8")
        return path

    def _repr_html_(self):
        try:
            # an id of its own: a notebook page may show several, from several kernels
            return f"<style>{_CSS}</style>\n" + self._widget(f"tgs-{uuid.uuid4().hex[:12]}")
        except GraphvizNotFoundError as err:
            return f"<pre>{html.escape(str(err))}</pre>"

    def _svgs(self):
        with tempfile.TemporaryDirectory() as tmp:
            return [p.read_text(encoding="utf-8") for p in self.save(tmp)]

    def _widget(self, uid, page=False):
        """The slider: controls, then one figure (picture and caption) per frame."""
        last = len(self) - 1
        first = self._frames[0]
        figures = []
        for f, svg in zip(self._frames, self._svgs()):
            figures.append(
                f'<figure class="tgs-frame" data-step="{f.index}" '
                f'data-node="{html.escape(f.node_name)}" data-highlighted="{f.highlighted}">\n'
                f"{_inline_svg(svg, f'{uid}-{f.index}-', f.caption.splitlines()[0])}\n"
                f"<figcaption><pre>{html.escape(f.caption.rstrip())}</pre></figcaption>\n"
                "</figure>")
        controls = (
            '<div class="tgs-bar">'
            '<button type="button" class="tgs-prev" title="previous step (left arrow)">'
            "&#9664; Previous</button>"
            '<button type="button" class="tgs-next" title="next step (right arrow)">'
            "Next &#9654;</button>"
            f'<input type="range" class="tgs-slider" min="0" max="{last}" value="0" step="1" '
            'aria-label="step">'
            f'<span class="tgs-count">Step 0 of {last}</span></div>')
        return (f'<div class="tgs" id="{uid}" tabindex="0" data-step="0" '
                f'data-node="{html.escape(first.node_name)}" data-highlighted="{first.highlighted}"'
                f'{" data-page" if page else ""}>\n'
                f'<div class="tgs-title">{html.escape(self._title)}'
                '<span class="tgs-hint">&#8592; &#8594; keys step through</span></div>\n'
                f"{controls}\n" + "\n".join(figures) + "\n</div>\n"
                f"<script>{_JS.replace('__UID__', uid)}</script>")


def backward_steps(loss, names=None, max_nodes=50, *, rankdir="LR", wrap="auto"):
    """The backward pass of ``loss`` as frames: one per step of the reference walk.

    Frame 0 is the loss (dL/dL = 1); then one frame per tensor, in the order of the
    walk of `tinygrad_edu.reference.backward`: that tensor's gradient is complete, it
    is highlighted, and its op (highlighted too) sends a share back to each input,
    along red edges. A note beside the op gives its incoming gradient g and its local
    derivatives; each tensor shows its gradient as it fills in, and the fan-out sum
    (``dL/da = 3 + 1.5 = 4.5``) once a second path has reached it. Every frame has the
    same layout, so stepping through them moves nothing but the highlight.

    loss       a one-element Tensor that requires grad.
    names      names for the tensors, as for `explain` and `draw_graph`
               (``names=locals()``): the frames use explain's names and numbers.
    max_nodes  refuse graphs with more tensors and ops than this (default 50; None
               for no limit), as `explain` does.
    rankdir    "LR" (the data flows left to right) or "TB" (top to bottom).
    wrap       as for `draw_graph` (start a new row after every N ops); "auto" wraps
               a chain of more than 6 ops into rows of at most 5, to fit a slide.

    Returns a `BackwardSteps`: index it for a `Frame` (``.digraph``, ``.caption``,
    ``.node_name``); ``.save(dir)`` writes numbered SVGs and ``.to_html(path)`` one
    self-contained page with a slider. Touches no ``.grad``.
    """
    walk_ = _Walk(loss, _ours(explain, loss, names, max_nodes=max_nodes))
    if isinstance(wrap, str) and wrap == "auto":
        wrap = _auto_wrap(walk_.order, loss)
    base = _ours(draw_graph, loss, names=walk_.explanation.names, show_grad=False,
                 max_nodes=None, rankdir=rankdir, wrap=wrap)
    steps = range(len(walk_.walked) + 1)
    gradients = [{id(t): walk_.gradient(t, k) for t in walk_.walked if walk_.reached(t, k)}
                 for k in steps]
    room = _room(gradients)
    frames = []
    for k in steps:
        t = walk_.tensor_at(k)
        frames.append(Frame(k, t, walk_.name[id(t)], walk_.caption(k, gradients[k]),
                            {walk_.name[i]: value for i, (_, _, value) in gradients[k].items()},
                            _picture(base, walk_, k, gradients[k], room), _highlighted(t, k)))
    return BackwardSteps(frames, walk_.explanation, walk_.L)


def _ours(function, *args, **kwargs):
    """Call explain or draw_graph; an error they raise names backward_steps instead."""
    try:
        return function(*args, **kwargs)
    except (TypeError, ValueError) as err:
        prefix = f"{function.__name__}: "
        message = str(err)
        if not message.startswith(prefix):
            raise
        raise type(err)("backward_steps: " + message.removeprefix(prefix)) from None


def _auto_wrap(order, loss):
    """Ops per row for a chain too long for one row of a slide (None: one row)."""
    depth = {}  # id(tensor) -> ops on the longest path up to it
    for v in order:
        if isinstance(v, Tensor):
            node = v.grad_fn
            depth[id(v)] = 0 if node is None else 1 + max(
                (depth[id(p)] for p in node.parents if isinstance(p, Tensor)), default=0)
    longest = depth[id(loss)]
    if longest <= _ONE_ROW:
        return None
    rows = -(-longest // _ROW)
    return -(-longest // rows)


class _Walk:
    """The reference walk of one backward pass, with explain's names and numbers.

    ``walked`` is the tensors in the order the walk processes them (the loss first);
    frame k (k >= 1) processes ``walked[k - 1]``, and what its op sends reaches the
    inputs in that frame.
    """

    def __init__(self, loss, explanation):
        self.loss, self.explanation = loss, explanation
        self.name = {id(t): n for n, t in explanation.names.items()}
        self.L = self.name[id(loss)]
        self.order = walk(loss)
        _, self.paths = backprop(loss, self.order)
        self.walked = [t for t in reversed(toposort(loss)) if explanation.grad(t) is not None]
        self.step = {id(t): k for k, t in enumerate(self.walked, start=1)}
        self.sent = collections.defaultdict(list)  # id(t) -> what t's op sends, by input
        for contributions in self.paths.values():
            for c in contributions:
                self.sent[id(c.out)].append(c)
        for contributions in self.sent.values():
            contributions.sort(key=lambda c: c.index)
        self.blocks = _explain_blocks(explanation, self.L)

    def tensor_at(self, k):
        return self.loss if k == 0 else self.walked[k - 1]

    def arrived(self, t, k):
        """The shares of dL/dt that have reached t by frame ``k``, in the engine's order."""
        return [c for c in self.paths.get(id(t), []) if self.step[id(c.out)] <= k]

    def reached(self, t, k):
        return t is self.loss or bool(self.arrived(t, k))

    def receivers(self, t):
        """The inputs of t's op that it sends a share to (each once)."""
        node = t.grad_fn
        return list({id(node.parents[c.index]): node.parents[c.index]
                     for c in self.sent[id(t)]}.values())

    def gradient(self, t, k):
        """(lines, text, value): dL/dt as far as it has arrived in frame ``k``.

        One share gives 'dL/da = 6'; more give the fan-out sum 'dL/da = 6 + 3 = 9',
        one share a line (and a matrix one row a line) when that is long. ``text`` is
        the same on one line; ``value`` is the shares added up in the order the engine
        adds them, and explain's total once all of them are in.
        """
        head = f"d{self.L}/d{self.name[id(t)]}"
        if t is self.loss:
            return [f"{head} = 1"], f"{head} = 1", self.explanation.grad(t)
        arrived = self.arrived(t, k)
        value = arrived[0].value
        for c in arrived[1:]:
            value = value + c.value
        if len(arrived) == len(self.paths[id(t)]):
            value = self.explanation.grad(t)
        shares = [c.value for c in arrived] + ([value] if len(arrived) > 1 else [])
        text = f"{head} = " + " + ".join(fmt_array(v) for v in shares[:len(arrived)]) + (
            f" = {fmt_array(value)}" if len(arrived) > 1 else "")
        rows = [_rows(v) for v in shares]
        if len(text) <= _ONE_LINE or (len(shares) == 1 and len(rows[0]) == 1):
            return [text], text, np.asarray(value)
        lines = [f"{head} = {rows[0][0]}", *rows[0][1:]]
        for sign, r in zip(["+"] * (len(rows) - 2) + ["="], rows[1:]):
            lines += [f"{sign} {r[0]}", *r[1:]]
        return lines, text, np.asarray(value)

    def caption(self, k, gradients):
        """The text under frame ``k``: what happens, then explain's paragraph for it."""
        L = self.L
        if k == 0:
            return (f"The loss: d{L}/d{L} = 1\n"
                    f"The backward pass starts at the output {L}: its derivative with respect "
                    "to itself is 1. Each step takes the next tensor of the walk, whose "
                    "gradient is then complete, and sends it back through the op that made it.")
        t = self.walked[k - 1]
        n = self.name[id(t)]
        head = (f"Step {k} of {len(self.walked)}: d{L}/d{n} = "
                f"{fmt_array(self.explanation.grad(t))} is complete")
        receivers = self.receivers(t) if t.grad_fn is not None else []
        if receivers:
            names = [self.name[id(p)] for p in receivers]
            head += (f"; {type(t.grad_fn).__name__} sends it back to "
                     + (", ".join(names[:-1]) + " and " if len(names) > 1 else "") + names[-1])
        elif is_parameter(t):
            head += f"; {n} is a leaf: {L}.backward() stores it in {n}.grad"
        else:
            head += f"; nothing below {n} needs a gradient"
        text = [head]
        for p in receivers:
            if len(self.arrived(p, k)) > 1:
                text.append(f"Fan-out: another path reaches {self.name[id(p)]}, and the shares "
                            "add up: " + gradients[id(p)][1])
        block = self.blocks.get(n)
        return "\n".join(text) + ("\n\n" + block if block else "")

    def note(self, t):
        """The note beside t's op: its incoming gradient g (a list of rows), and for each
        input the local derivative (or, for an array output, the share sent), as rows."""
        node, o = t.grad_fn, self.name[id(t)]
        g = _rows(self.explanation.grad(t))
        rest = []
        for c in self.sent[id(t)]:
            p = node.parents[c.index]
            pn = self.name[id(p)]
            twice = sum(q is p for q in node.parents) > 1
            tag = f" (as {formula_of(node).role_of(node, c.index) or c.index + 1})" \
                if twice else ""
            if c.local is not None:
                local = _rows(c.local)
                rest += [f"local d{o}/d{pn}{tag} = {local[0]}", *local[1:]]
            else:
                share = _rows(c.value)
                rest += [f"to {pn}{tag}: {share[0]}", *share[1:]]
        return [f"g = d{self.L}/d{o} = {g[0]}", *g[1:]], rest


def _rows(a):
    """A value as explain writes it, a small matrix one row a line."""
    a = np.asarray(a)
    return fmt_rows(a) if fmt_values(a) is not None else [fmt_array(a)]


def _explain_blocks(explanation, L):
    """{name: explain's paragraph on that tensor's gradient and its op}."""
    lines = str(explanation).splitlines()
    start = next((i for i, ln in enumerate(lines) if ln.startswith("Backward pass")), None)
    if start is None or "" not in lines[start:]:
        return {}
    blocks, current = {}, []
    for line in lines[lines.index("", start) + 1:] + [""]:
        if line:
            current.append(line)
            continue
        head = current[0].split(" = ", 1)[0] if current else ""
        if head.startswith(f"d{L}/d"):
            blocks[head[len(f"d{L}/d"):]] = "\n".join(current)
        current = []
    return blocks


# -------------------------------------------------------------------- the pictures
def _room(gradients):
    """{id(t): (lines, width in points)}: room for t's longest gradient text in every
    frame, so that the layout, and so the picture, stays the same from frame to frame."""
    room = {}
    for frame in gradients:
        for i, (lines, _, _) in frame.items():
            n, w = room.get(i, (0, 0))
            room[i] = (max(n, len(lines)), max([w] + [_width(line) for line in lines]))
    return {i: (n, int(w) + 8) for i, (n, w) in room.items()}


def _width(text):
    """About the width of a gradient row in points (a little more than Helvetica's)."""
    ems = sum(0.32 if ch in _NARROW else 0.86 if ch in _WIDE else 0.74 if ch.isupper()
              else 0.6 for ch in text)
    return ems * _FONT_SIZE


def _picture(base, walk_, k, gradients, room):
    """The picture of frame ``k``: draw_graph's graph, with this step drawn over it.

    DOT lets a later statement about a node add to (and override) its attributes, so
    draw_graph's own statements stay as they are: the tensors get their gradient row,
    the current tensor and op their highlight, the ops that have run their note.
    """
    g = base.copy()
    t = walk_.tensor_at(k)
    receivers = walk_.receivers(t) if _runs(t, k) else []
    flow = {(_tid(p), _fid(t.grad_fn)) for p in receivers}
    if flow:
        flow.add((_fid(t.grad_fn), _tid(t)))
    for i, line in enumerate(g.body):
        m = _EDGE.fullmatch(line)  # an edge along which the gradient goes back: red
        if m and (re.sub(r"\Ar\d+_", "", m.group(1)), m.group(2)) in flow:
            g.body[i] = f"\t{m.group(1)} -> {m.group(2)} [{m.group(3) or ''} {_FLOW}]\n"
    received = {id(p) for p in receivers}
    for v in walk_.walked:
        n, width = room[id(v)]
        lines = [html.escape(line) for line in gradients.get(id(v), ([], "", None))[0]]
        lines += ["&#160;"] * (n - len(lines))  # the rows it will need later, kept now
        label = (f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1"><TR><TD>'
                 f"{_tensor_label(v, walk_.name[id(v)], True, None)[1:-1]}</TD></TR>"
                 f'<TR><TD WIDTH="{width}"><font color="{_GRAD}">{"<br/>".join(lines)}'
                 "</font></TD></TR></TABLE>>")
        style = (_RECEIVER if id(v) in received else "" if v is not t else
                 _PASSED_ON if _runs(t, k) else _NOW)
        g.body.append(f"\t{_tid(v)} [label={label} {style}]\n")
    for v in walk_.walked:
        if v.grad_fn is None or not walk_.sent[id(v)]:
            continue
        step = walk_.step[id(v)]
        state = "before" if step > k else "now" if step == k else "done"
        fid, (g_rows, rows) = _fid(v.grad_fn), walk_.note(v)
        label = (f'<<font color="{_GRAD if state == "now" else _DONE}"><b>'
                 + "<br/>".join(html.escape(r) for r in g_rows) + "</b></font>"
                 + "".join("<br/>" + html.escape(r) for r in rows) + ">")
        g.body.append(f"\tnote{fid} [label={label} {_NOTE} {_NOTE_STATES[state]}]\n")
        g.body.append(f"\t{{rank=same; {fid}; note{fid}}}\n")
        g.body.append(f"\t{fid} -> note{fid} [dir=none style=dashed {_NOTE_EDGE[state]}]\n")
    if _runs(t, k):
        g.body.append(f"\t{_fid(t.grad_fn)} [{_NOW}]\n")
    return g


def _runs(t, k):
    """Whether t's op runs in frame ``k`` (frame 0 only shows the loss)."""
    return k > 0 and t.grad_fn is not None


def _highlighted(t, k):
    """The DOT id of the node frame ``k`` highlights: the op that runs, else the tensor."""
    return _fid(t.grad_fn) if _runs(t, k) else _tid(t)


def _inline_svg(svg, prefix, label):
    """Graphviz's SVG file as an element for an HTML page: no XML prologue, comments or
    namespace URLs (HTML needs none), ids made unique on the page, the size left to CSS."""
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"<!--.*?-->\n?", "", svg, flags=re.DOTALL)
    svg = re.sub(r'\s+xmlns(?::\w+)?="[^"]*"', "", svg)
    svg = re.sub(r'\A<svg width="[^"]*"\s+height="[^"]*"', "<svg", svg)
    svg = re.sub(r'(?<=\s)id="', f'id="{prefix}', svg)
    return svg.replace("<svg", f'<svg role="img" aria-label="{html.escape(label)}"', 1).rstrip()


_PAGE_CSS = """
body{margin:0;padding:1em 2em;font-size:20px;background:#fff}
"""
_CSS = """
.tgs{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#0f172a;
 max-width:1900px;margin:0 auto;outline:none}
.tgs-title{font-size:1.25em;font-weight:700;margin:.2em 0 .4em}
.tgs-hint{font-size:.7em;font-weight:400;color:#64748b;margin-left:1em}
.tgs-bar{display:flex;align-items:center;gap:.7em;flex-wrap:wrap;margin:0 0 .6em}
.tgs-bar button{font:inherit;font-size:1em;padding:.3em .9em;border:2px solid #334155;
 border-radius:.4em;background:#fff;color:#0f172a;cursor:pointer}
.tgs-bar button:hover:not(:disabled){background:#fef9c3}
.tgs-bar button:disabled{opacity:.35;cursor:default}
.tgs-slider{flex:1;min-width:8em;accent-color:#a16207}
.tgs-count{font-weight:600;font-variant-numeric:tabular-nums;min-width:7.5em}
.tgs-frame{margin:0}
.tgs-frame svg{display:block;width:100%;height:auto;max-height:62vh;margin:0 auto}
.tgs-frame pre{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;
 font-size:.9em;line-height:1.35;white-space:pre-wrap;background:#f8fafc;color:#0f172a;
 border-left:.3em solid #ca8a04;padding:.5em .8em;margin:.5em 0 0}
.tgs.tgs-js .tgs-frame:not(.tgs-active){display:none}
.tgs:not(.tgs-js) .tgs-bar,.tgs:not(.tgs-js) .tgs-hint{display:none}
.tgs:not(.tgs-js) .tgs-frame{margin-bottom:1.5em}
"""
# Steps through the frames of one widget; on its own page the arrow keys work anywhere
# and <body> carries data-step / data-node too. Without script every frame shows.
_JS = """
(function () {
  var root = document.getElementById("__UID__");
  if (!root) { return; }
  var frames = root.querySelectorAll(".tgs-frame");
  var slider = root.querySelector(".tgs-slider");
  var prev = root.querySelector(".tgs-prev");
  var next = root.querySelector(".tgs-next");
  var count = root.querySelector(".tgs-count");
  var page = root.hasAttribute("data-page");
  var last = frames.length - 1;
  var current = 0;
  function show(i) {
    current = Math.max(0, Math.min(last, i));
    for (var k = 0; k < frames.length; k++) {
      frames[k].classList.toggle("tgs-active", k === current);
    }
    var frame = frames[current];
    slider.value = String(current);
    count.textContent = "Step " + current + " of " + last;
    prev.disabled = current === 0;
    next.disabled = current === last;
    if (document.activeElement && document.activeElement.disabled) { root.focus(); }
    var targets = page ? [root, document.body] : [root];
    for (var j = 0; j < targets.length; j++) {
      targets[j].setAttribute("data-step", String(current));
      targets[j].setAttribute("data-node", frame.getAttribute("data-node"));
      targets[j].setAttribute("data-highlighted", frame.getAttribute("data-highlighted"));
    }
  }
  prev.addEventListener("click", function () { show(current - 1); });
  next.addEventListener("click", function () { show(current + 1); });
  slider.addEventListener("input", function () { show(parseInt(slider.value, 10)); });
  (page ? document : root).addEventListener("keydown", function (event) {
    if (event.target === slider || event.altKey || event.ctrlKey || event.metaKey) { return; }
    var keys = {ArrowRight: current + 1, ArrowLeft: current - 1, Home: 0, End: last};
    if (!(event.key in keys)) { return; }
    event.preventDefault();
    show(keys[event.key]);
  });
  root.classList.add("tgs-js");
  show(0);
})();
"""


__all__ = ["BackwardSteps", "Frame", "backward_steps"]
