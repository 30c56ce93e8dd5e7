// Reads Markdown (.md) and LaTeX (.tex) documents, one file path per argument, renders every
// formula with KaTeX's default settings (throwOnError), and prints the failures and a count.
// Markdown: every $…$ and $$…$$. LaTeX: every align*, \[ … \] and $…$, comments removed.
const katex = require(process.env.KATEX_PATH);
const fs = require("fs");
let total = 0, failed = [];
function render(file, tex, display) {
  total++;
  try { katex.renderToString(tex, { displayMode: display, throwOnError: true }); }
  catch (e) { failed.push(file + ": " + String(e.message).slice(0, 200)); }
}
for (const file of process.argv.slice(2)) {
  let text = fs.readFileSync(file, "utf8");
  let m;
  if (file.endsWith(".tex")) {
    text = text.replace(/(^|[^\\])%.*$/gm, "$1");
    const re = /\\begin\{(align\*)\}([\s\S]+?)\\end\{align\*\}|\\\[([\s\S]+?)\\\]|\$([^$]+?)\$/g;
    while ((m = re.exec(text))) {
      if (m[1]) render(file, "\\begin{align*}" + m[2] + "\\end{align*}", true);
      else if (m[3] !== undefined) render(file, m[3], true);
      else render(file, m[4], false);
    }
  } else {
    const re = /\$\$([\s\S]+?)\$\$|\$([^$\n]+?)\$/g;
    while ((m = re.exec(text))) {
      const display = m[1] !== undefined;
      render(file, display ? m[1] : m[2], display);
    }
  }
}
console.log(JSON.stringify({ total, failed }));
