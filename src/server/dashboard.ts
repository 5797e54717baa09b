import { createHash } from "node:crypto";

/**
 * The fleet dashboard: one static page (no data in it) that reads the evidence API with the
 * token the user enters (kept in the tab's sessionStorage only). Every value from the API is
 * set as text, never as markup; the page's own script is allowed by its hash in the
 * Content-Security-Policy and nothing else runs.
 */

const SCRIPT = `
const $ = (s) => document.querySelector(s);
const el = (tag, attrs, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else if (k.startsWith("on")) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(String(k ?? "")));
  return e;
};
const token = () => sessionStorage.getItem("cleanimg-token") || "";
async function api(path) {
  const r = await fetch(path, { headers: { authorization: "Bearer " + token() } });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(body.detail || r.statusText);
  return body;
}
const short = (d) => (d ? d.slice(0, 19) + "…" : "");
function status(msg, bad) {
  const s = $("#status");
  s.textContent = msg;
  s.className = bad ? "bad" : "";
}
async function loadFleet() {
  const { images } = await api("/v1/images");
  const body = $("#fleet tbody");
  body.replaceChildren();
  for (const r of images) {
    const mark = (ok, text) => el("td", { class: ok ? "ok" : "no" }, ok ? "✓ " + text : "✗ " + text);
    const tr = el(
      "tr",
      { tabindex: "0", "data-digest": r.digest, onclick: () => openImage(r), onkeydown: (e) => e.key === "Enter" && openImage(r) },
      el("td", {}, r.image),
      el("td", {}, r.version),
      el("td", { class: r.slsa === "L0" ? "no" : "ok" }, r.slsa),
      mark(r.sbom === "signed", r.sbom),
      mark(r.vex === "complete", r.vex),
      mark(r.signature === "signed", r.signature),
      el("td", { class: r.chain === "intact" ? "ok" : "no" }, r.chain),
      el("td", { class: r.ready === "ready" ? "ok ready" : "no ready" }, r.ready === "ready" ? "READY" : r.ready),
    );
    body.append(tr);
  }
  $("#fleet-count").textContent = images.length + " images";
}
async function openImage(r) {
  const panel = $("#image");
  panel.hidden = false;
  $("#image-title").textContent = r.image + ":" + r.version + "  " + r.digest;
  const [chain, findings] = await Promise.all([
    api("/v1/images/" + r.digest + "/chain"),
    api("/v1/images/" + r.digest + "/findings"),
  ]);
  const c = $("#chain");
  c.replaceChildren();
  for (const l of chain.links) {
    c.append(
      el(
        "li",
        { class: "link " + l.state, "data-stage": l.stage },
        el("strong", {}, l.stage),
        el("span", { class: "state" }, l.state),
        el("code", {}, short(l.attestation)),
        el("small", {}, l.signers ? "signed by " + l.signers.map((s) => s.slice(0, 12)).join(", ") : ""),
        el("small", {}, l.created || ""),
        el("small", { class: "reason" }, l.reason || ""),
      ),
    );
  }
  $("#chain-verdict").textContent = chain.intact ? "chain intact" : "chain broken at " + chain.firstBroken;
  $("#chain-verdict").className = chain.intact ? "ok" : "no";
  const f = $("#findings tbody");
  f.replaceChildren();
  for (const v of findings.vulnerabilities) {
    f.append(
      el(
        "tr",
        {},
        el("td", {}, v.id),
        el("td", {}, v.package + " " + v.version),
        el("td", { class: "sev " + v.severity }, v.severity),
        el("td", { class: "vex " + v.status }, v.status),
        el("td", {}, v.justification || ""),
      ),
    );
  }
  $("#findings-evidence").textContent =
    findings.vulnerabilities.length + " findings; scan " + short(findings.scan) + ", VEX " + short(findings.vex);
}
async function loadPosture() {
  const days = await api("/v1/posture?days=30");
  const svg = $("#posture");
  const max = Math.max(1, ...days.map((d) => d.allowed + d.denied + d.admissionsDenied));
  const w = 720 / days.length;
  const ns = "http://www.w3.org/2000/svg";
  svg.replaceChildren();
  days.forEach((d, i) => {
    let y = 180;
    for (const [n, cls] of [[d.allowed, "allow"], [d.denied, "deny"], [d.admissionsDenied, "adm"]]) {
      const h = (n / max) * 160;
      const rect = document.createElementNS(ns, "rect");
      rect.setAttribute("x", String(i * w + 2));
      rect.setAttribute("y", String(y - h));
      rect.setAttribute("width", String(w - 4));
      rect.setAttribute("height", String(h));
      rect.setAttribute("class", cls);
      const t = document.createElementNS(ns, "title");
      t.textContent = d.date + ": " + n + " " + cls;
      rect.append(t);
      svg.append(rect);
      y -= h;
    }
    if (i % 5 === 0) {
      const t = document.createElementNS(ns, "text");
      t.setAttribute("x", String(i * w + 2));
      t.setAttribute("y", "198");
      t.textContent = d.date.slice(5);
      svg.append(t);
    }
  });
}
async function searchAudit(e) {
  if (e) e.preventDefault();
  const from = $("#from").value, to = $("#to").value, q = $("#q").value.toLowerCase();
  const qs = new URLSearchParams();
  if (from) qs.set("from", from);
  if (to) qs.set("to", to);
  const { events } = await api("/v1/audit?" + qs);
  const hits = events.filter((ev) => !q || JSON.stringify(ev).toLowerCase().includes(q)).slice(-200).reverse();
  const body = $("#audit tbody");
  body.replaceChildren();
  for (const ev of hits) {
    body.append(el("tr", {}, el("td", {}, ev.seq), el("td", {}, ev.time), el("td", {}, ev.action), el("td", {}, ev.subjectName || short(ev.subject)), el("td", {}, ev.actor)));
  }
  $("#audit-count").textContent = hits.length + " events";
}
async function start() {
  try {
    await Promise.all([loadFleet(), loadPosture(), searchAudit()]);
    status("connected");
    document.body.classList.add("ready");
  } catch (err) {
    status(err.message, true);
  }
}
$("#login").addEventListener("submit", (e) => {
  e.preventDefault();
  sessionStorage.setItem("cleanimg-token", $("#token").value.trim());
  $("#token").value = "";
  start();
});
$("#search").addEventListener("submit", searchAudit);
if (token()) start();
`;

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f6f7f9; }
header { background: #1d2330; color: #fff; padding: 10px 20px; display: flex; gap: 16px; align-items: center; }
header h1 { font-size: 18px; margin: 0; flex: 1; }
header input { width: 320px; }
main { padding: 16px 20px; display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
section { background: #fff; border: 1px solid #dde1e7; border-radius: 6px; padding: 12px 16px; }
section.wide { grid-column: 1 / 3; }
h2 { font-size: 15px; margin: 0 0 8px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eef0f3; }
tbody tr[tabindex]:hover { background: #eef4ff; cursor: pointer; }
.ok { color: #11692e; } .no { color: #a4161a; } .ready { font-weight: 600; }
#status.bad { color: #ffb3b3; }
ol#chain { list-style: none; padding: 0; display: grid; grid-template-columns: repeat(6, 1fr); gap: 6px; }
li.link { border-radius: 4px; padding: 6px; border: 1px solid #ccc; display: flex; flex-direction: column; gap: 2px; font-size: 12px; }
li.valid { background: #e6f4ea; } li.stale { background: #fff4d6; } li.broken, li.invalid { background: #fde2e1; } li.not-recorded { background: #f1f1f1; color: #666; }
.state { font-weight: 600; } code { font-size: 11px; } .reason { color: #a4161a; }
.sev.CRITICAL, .sev.HIGH { color: #a4161a; font-weight: 600; }
.vex.not_affected, .vex.fixed { color: #11692e; } .vex.affected { color: #a4161a; }
svg rect.allow { fill: #2f9e44; } svg rect.deny { fill: #e8590c; } svg rect.adm { fill: #c92a2a; }
svg text { font-size: 10px; fill: #555; }
.legend span { margin-right: 12px; } .legend i { display: inline-block; width: 10px; height: 10px; margin-right: 4px; }
.legend i.allow { background: #2f9e44; } .legend i.deny { background: #e8590c; } .legend i.adm { background: #c92a2a; }
`;

const BODY = `
<header>
  <h1>cleanimg — fleet compliance</h1>
  <span id="status">enter an API token (reader or above)</span>
  <form id="login"><input id="token" type="password" autocomplete="off" placeholder="cit_…" aria-label="API token"><button>Connect</button></form>
</header>
<main>
  <section class="wide">
    <h2>Fleet <small id="fleet-count"></small></h2>
    <table id="fleet"><thead><tr><th>IMAGE</th><th>VERSION</th><th>SLSA</th><th>SBOM</th><th>VEX</th><th>SIGNATURE</th><th>CHAIN</th><th>READINESS</th></tr></thead><tbody></tbody></table>
  </section>
  <section class="wide" id="image" hidden>
    <h2 id="image-title"></h2>
    <p id="chain-verdict"></p>
    <ol id="chain"></ol>
    <h2>Findings <small id="findings-evidence"></small></h2>
    <table id="findings"><thead><tr><th>Vulnerability</th><th>Package</th><th>Severity</th><th>VEX status</th><th>Justification</th></tr></thead><tbody></tbody></table>
  </section>
  <section>
    <h2>Posture, last 30 days</h2>
    <svg id="posture" viewBox="0 0 720 200" width="100%" role="img" aria-label="policy decisions and admission denials per day"></svg>
    <p class="legend"><span><i class="allow"></i>policy allowed</span><span><i class="deny"></i>policy denied</span><span><i class="adm"></i>admission denied</span></p>
  </section>
  <section>
    <h2>Audit trail <small id="audit-count"></small></h2>
    <form id="search"><input id="from" type="date" aria-label="from"> <input id="to" type="date" aria-label="to"> <input id="q" placeholder="action, image, actor…" aria-label="search"> <button>Search</button></form>
    <table id="audit"><thead><tr><th>#</th><th>Time</th><th>Action</th><th>Image</th><th>Actor</th></tr></thead><tbody></tbody></table>
  </section>
</main>`;

/** The page and the Content-Security-Policy that lets exactly its own script and style run. */
export function dashboardPage(): { html: string; csp: string } {
  const hash = (s: string): string => `'sha256-${createHash("sha256").update(s).digest("base64")}'`;
  return {
    html: `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>cleanimg fleet</title><meta name="viewport" content="width=device-width"><style>${STYLE}</style></head><body>${BODY}<script>${SCRIPT}</script></body></html>`,
    csp: `default-src 'none'; connect-src 'self'; style-src ${hash(STYLE)}; script-src ${hash(SCRIPT)}; form-action 'none'; frame-ancestors 'none'; base-uri 'none'`,
  };
}
