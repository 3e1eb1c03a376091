"""Shows math as its TeX source, so that the book needs no network.

Sphinx's default math renderer loads MathJax from a CDN. The book must work offline, and the
environment ships no copy of MathJax, so this renderer writes each formula as the notebook
wrote it (`$...$` inline, `$$...$$` on its own line) and loads no script.
"""

from docutils import nodes


def visit_inline(self, node):
    self.body.append(self.starttag(node, "span", "", CLASS="math notranslate nohighlight"))
    self.body.append("$" + self.encode(node.astext()) + "$</span>")
    raise nodes.SkipNode


def visit_block(self, node):
    self.body.append(self.starttag(node, "div", CLASS="math notranslate nohighlight"))
    self.body.append("$$" + self.encode(node.astext()) + "$$</div>\n")
    raise nodes.SkipNode


def setup(app):
    app.add_html_math_renderer("offline_math", (visit_inline, None), (visit_block, None))
    return {"parallel_read_safe": True, "parallel_write_safe": True}
