"""An op's formula docstring, parsed: the forward, the gradient rules, the input roles.

The first line of an op's docstring reads ``"y = a * b;  da = g * b,  db = g * a"``;
`Formula` splits it, `substitute` writes it with the user's names, and
`with_reduction` adds a fused loss's mean or sum.
"""
from __future__ import annotations

import re
import weakref


class Formula:
    """The first docstring line of an op, split up.

    ``"y = a * b;  da = g * b,  db = g * a"`` gives ``forward = "y = a * b"``,
    ``rules = ["da = g * b", "db = g * a"]``, ``roles = ["a", "b"]`` (the names the
    rules give the inputs, in order) and ``note`` (a trailing remark in parentheses).
    """

    def __init__(self, op_class):
        doc = op_class.__doc__ or ""
        line = doc.strip().splitlines()[0].strip() if doc.strip() else ""
        self.line = line
        self.forward, self.rules, self.roles, self.note = "", [], [], ""
        if not line:
            return
        forward, _, rest = line.partition(";")
        if not rest and not re.match(r"\s*d\w+\s*=", forward):
            self.forward = forward.strip()
            return
        if not rest:
            forward, rest = "", forward
        m = re.search(r"\s{2,}(\(.*\))\s*$", rest)
        if m:
            self.note, rest = m.group(1), rest[:m.start()]
        self.forward = _strip_remark(forward.strip())
        self.rules = [_strip_remark(r.strip()) for r in re.split(r",\s{2,}", rest.strip())
                      if r.strip()]
        for r in self.rules:
            m = re.match(r"d([A-Za-z]\w*)\b", r)
            self.roles.append(m.group(1) if m else None)

    def role_of(self, node, index):
        """The formula's name for input ``index`` of ``node`` (or None)."""
        roles, n = self.roles, len(node.parents)
        if len(roles) == 1 and roles[0] and roles[0].endswith("_i"):
            return f"{roles[0][:-2]}_{index + 1}" if n > 1 else roles[0][:-2]
        if len(roles) == n:
            return roles[index]
        if len(roles) == 1 and index == 0:
            return roles[0]
        return None

    def rule_for(self, node, index):
        """The rule giving input ``index``'s gradient ('da = g * b'), or None."""
        roles, n = self.roles, len(node.parents)
        if len(roles) == 1 and roles[0] and roles[0].endswith("_i"):
            return self.rules[0]
        if len(roles) == n or (len(roles) == 1 and index == 0):
            rule = self.rules[index]
            return rule if not re.match(r"d\w+\s+likewise\b", rule) else None
        return None


_FORMULAS = weakref.WeakKeyDictionary()


def formula_of(node):
    """The `Formula` of a node's op class (parsed once per class)."""
    cls = type(node)
    formula = _FORMULAS.get(cls)
    if formula is None:
        formula = _FORMULAS[cls] = Formula(cls)
    return formula


def _strip_remark(forward):
    """Drop a trailing '(numpy's rules)'-style remark, keep '(1 + exp(-x))'."""
    m = re.search(r"\s+\(([^()]*)\)$", forward)
    if m and len(re.findall(r"[A-Za-z']{2,}", m.group(1))) >= 2:
        return forward[:m.start()]
    return forward


def substitute(text, mapping):
    """Replace whole words of ``text`` by ``mapping`` in one pass ('a * b' -> 'w * x').

    Derivative names follow: with a -> w, 'da' becomes 'dw'.
    """
    if not mapping:
        return text
    keys = sorted(mapping, key=len, reverse=True)
    pattern = re.compile(r"\b(d?)(" + "|".join(re.escape(k) for k in keys) + r")\b")

    def repl(m):
        d, word = m.group(1), m.group(2)
        if d and (d + word) in mapping:  # a name that starts with d
            return mapping[d + word]
        value = mapping[word]
        if d:
            return "d" + value if re.fullmatch(r"\w+", value) else f"d({value})"
        return value

    return pattern.sub(repl, text)


def reduction_text(node):
    """["reduction='mean'"] for a fused loss that averages or sums, else []."""
    reduction = getattr(node, "reduction", "none")
    return [] if reduction == "none" else [f"reduction={reduction!r}"]


def with_reduction(node, text, rule=False):
    """A fused loss's per-element formula with its reduction: 'mean(...)' or 'sum(...)'
    for the forward, '... / n' for a gradient rule of the mean."""
    reduction = getattr(node, "reduction", "none")
    if reduction == "none" or not text:
        return text
    if rule:
        return f"{text} / {node.n}" if reduction == "mean" and node.n != 1 else text
    return f"{reduction}({text})"
