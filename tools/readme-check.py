#!/usr/bin/env python3
"""Renders README.md as GitHub-flavoured Markdown (markdown-it-py, gfm-like) and checks that every
table renders whole: as many tables as separator rows, no row stray as a paragraph, every row with
as many cells as its header. Writes the HTML to /tmp/readme.html for a look in a browser.
Needs: pip install "markdown-it-py[linkify]". Usage: python3 tools/readme-check.py"""
import sys
from markdown_it import MarkdownIt
import re
md = MarkdownIt("gfm-like")
src = open(sys.argv[1] if len(sys.argv) > 1 else "README.md").read()
html = md.render(src)
tables = html.count("<table>")
src_tables = 0
in_code=False
for l in src.split("\n"):
    if l.startswith("```"): in_code = not in_code
    if not in_code and re.match(r"^\|[-|: ]+\|$", l.strip()): src_tables+=1
print("tables rendered", tables, "table separators in source", src_tables)
paras = re.findall(r"<p>\|.*?</p>", html, re.S)
print("pipe paragraphs:", len(paras))
for p in paras[:5]: print(p[:200])
# every row of every table has as many cells as its header
bad = len(paras) + abs(tables - src_tables)
for t in re.findall(r"<table>.*?</table>", html, re.S):
    head = len(re.findall(r"<th[ >]", t.split("</thead>")[0]))
    for row in re.findall(r"<tr>.*?</tr>", t.split("</thead>")[1], re.S):
        n = len(re.findall(r"<td", row))
        if n != head:
            print("row with", n, "cells, header", head, re.sub("<[^>]+>", "", row)[:100])
            bad += 1
open("/tmp/readme.html","w").write("<html><head><meta charset='utf-8'><style>body{font-family:sans-serif;max-width:1100px;margin:auto} table{border-collapse:collapse} td,th{border:1px solid #999;padding:3px;font-size:12px} pre{background:#eee;overflow:auto;font-size:11px}</style></head><body>"+html+"</body></html>")
sys.exit(1 if bad else 0)
