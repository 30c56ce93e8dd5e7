// Reads Markdown documents (one file path per argument), renders every $…$ and $$…$$ with
// KaTeX's default settings, prints failures and a count.
const katex = require(process.env.KATEX_PATH);
const fs = require("fs");
let total = 0, failed = [];
for (const file of process.argv.slice(2)) {
  const text = fs.readFileSync(file, "utf8");
  const re = /\$\$([\s\S]+?)\$\$|\$([^$\n]+?)\$/g;
  let m;
  while ((m = re.exec(text))) {
    const display = m[1] !== undefined;
    const tex = display ? m[1] : m[2];
    total++;
    try { katex.renderToString(tex, { displayMode: display, throwOnError: true }); }
    catch (e) { failed.push(file + ": " + String(e.message).slice(0, 200)); }
  }
}
console.log(JSON.stringify({ total, failed }));
