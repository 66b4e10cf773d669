// The UI's one stylesheet, served as /static/style.css (kept in TypeScript so the tsc build ships it).
export const STYLE_CSS = `
:root{--fg:#1d2330;--muted:#667085;--line:#dde1e8;--bg:#f6f7f9;--card:#fff;--accent:#e6522c;--accent-dark:#b83f1f;
--ok:#177245;--ok-bg:#e7f6ee;--bad:#b42318;--bad-bg:#fef1f0;--bad-line:#f04438;--chip:#eef2f7;--job:#fff4e5;--job-line:#f5c27a;
--mono:ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace}
*{box-sizing:border-box}
html{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--fg);background:var(--bg)}
body{margin:0}
a{color:#1d5fbf}
header.top{display:flex;align-items:center;gap:1.2em;background:#1d2330;color:#fff;padding:.55em 1.2em;position:sticky;top:0;z-index:5}
header.top .brand{color:#fff;text-decoration:none;font-weight:600;font-size:1.1em;display:flex;align-items:center;gap:.45em}
header.top .brand::before{content:"";width:.8em;height:.8em;border-radius:50%;background:var(--accent);display:inline-block}
header.top nav{display:flex;gap:.2em}
header.top nav a{color:#c9d1e0;text-decoration:none;padding:.25em .65em;border-radius:4px}
header.top nav a:hover{background:#2c3446;color:#fff}
header.top nav a[aria-current=page]{background:#374159;color:#fff}
header.top .version{margin-left:auto;color:#8d97ab;font-size:.9em}
main{padding:1em 1.2em 2em;max-width:1400px;margin:0 auto}
h1{font-size:1.35em;margin:.2em 0 .8em}
h2{font-size:1.1em;margin:1.5em 0 .5em}
.toolbar{display:flex;flex-wrap:wrap;align-items:center;gap:.6em;margin-bottom:.8em}
.toolbar input[type=search]{flex:1 1 22em;min-width:14em;max-width:42em;padding:.45em .7em;border:1px solid #c4cad4;border-radius:6px;font:inherit;background:#fff}
.toolbar input[type=search]:focus{outline:2px solid #9ab8ee;border-color:#5b8def}
.toolbar label{display:flex;align-items:center;gap:.3em;color:var(--fg);user-select:none}
.toolbar .spacer{flex:1}
.toolbar .expiry{display:flex;align-items:center;gap:.6em}
.toolbar .expiry[hidden],.toolbar button[hidden]{display:none}
.toolbar select{font:inherit;padding:.35em;border:1px solid #c4cad4;border-radius:6px;background:#fff}
.count{color:var(--muted)}
.count b{color:var(--fg)}
.count .nfailed{color:var(--bad);font-weight:600}
button,.btn{font:inherit;border:1px solid #c4cad4;background:#fff;color:var(--fg);border-radius:6px;padding:.3em .8em;cursor:pointer;text-decoration:none;display:inline-block;line-height:1.4}
button:hover,.btn:hover{background:#f0f2f5}
button:disabled{opacity:.5;cursor:default}
button.danger{border-color:#f1a9a3;color:var(--bad)}
button.danger:hover{background:var(--bad-bg)}
button.danger.solid{background:var(--bad);border-color:var(--bad);color:#fff}
button.danger.solid:hover{background:#912018}
.small{font-size:.85em;padding:.15em .6em}
#error{background:var(--bad-bg);border:1px solid var(--bad-line);color:var(--bad);padding:.5em .8em;border-radius:6px;margin-bottom:.8em}
#notice{position:fixed;bottom:1em;left:50%;transform:translateX(-50%);background:#1d2330;color:#fff;padding:.5em 1em;border-radius:6px;box-shadow:0 4px 14px #0003;z-index:10}
.empty{color:var(--muted);padding:2em;text-align:center;background:var(--card);border:1px dashed var(--line);border-radius:8px}
.empty.err{color:var(--bad)}
.group{background:var(--card);border:1px solid var(--line);border-left:4px solid #9fd3b4;border-radius:8px;margin-bottom:.45em}
.group.failed{border-left-color:var(--bad-line);background:var(--bad-bg);border-color:#f6c9c4}
.ghead{display:flex;align-items:center;gap:.6em;padding:.45em .7em;cursor:pointer;flex-wrap:wrap}
.ghead .toggle{border:0;background:none;padding:0 .2em;width:1.4em;color:var(--muted);font-size:1em}
.ghead .toggle::before{content:"\\25B8";display:inline-block;transition:transform .1s}
.group.open .ghead .toggle::before{transform:rotate(90deg)}
.labels{display:flex;flex-wrap:wrap;gap:.3em;flex:1 1 20em;min-width:0}
.chip{font-family:var(--mono);font-size:.88em;background:var(--chip);border:1px solid #dbe2ec;border-radius:4px;padding:0 .4em;white-space:pre-wrap;word-break:break-all}
.chip.job{background:var(--job);border-color:var(--job-line)}
.chip .n{color:#5a6b85}
.meta{display:flex;align-items:center;gap:.8em;color:var(--muted);font-size:.9em;flex-wrap:wrap}
.meta time{color:var(--fg)}
.meta .abs{color:var(--muted)}
.meta .failtime,.meta .failtime time{color:var(--bad)}
.badge{font-size:.78em;font-weight:600;letter-spacing:.02em;border-radius:10px;padding:.05em .6em;white-space:nowrap}
.badge.ok{background:var(--ok-bg);color:var(--ok)}
.badge.bad{background:var(--bad);color:#fff}
.type{font-size:.75em;font-weight:600;color:#3b4a63;background:#e3e8f0;border-radius:3px;padding:0 .4em;margin-left:.4em}
.actions{display:flex;gap:.4em}
.gbody{border-top:1px solid var(--line);padding:.5em .8em .7em 2.6em}
.failure{color:var(--bad);margin:.2em 0 .5em}
.families{margin:0}
details.family{border-bottom:1px solid #eceff3}
details.family:last-child{border-bottom:0}
details.family>summary{cursor:pointer;padding:.3em 0;list-style-position:outside}
details.family>summary .fname{font-family:var(--mono);font-weight:600}
details.family>summary .help{color:var(--muted);margin-left:.6em}
details.family>summary .nseries{color:var(--muted);margin-left:.6em;font-size:.9em}
details.family.internal>summary .fname{font-weight:400;color:var(--muted)}
table.series{border-collapse:collapse;margin:.2em 0 .7em;font-size:.92em;max-width:100%}
table.series th,table.series td{border:1px solid var(--line);padding:.2em .6em;text-align:left;vertical-align:top}
table.series th{background:#f3f5f8;font-weight:600}
table.series td.v{font-family:var(--mono);white-space:pre}
table.series td.lbl{max-width:60em}
.more{color:var(--muted);font-style:italic}
.pager{display:flex;align-items:center;justify-content:center;gap:.6em;margin:1em 0}
.pager select{font:inherit;padding:.2em;border-radius:4px}
dialog{border:1px solid var(--line);border-radius:10px;padding:1.2em 1.4em;max-width:38em;box-shadow:0 10px 40px #0004}
dialog::backdrop{background:#1d233066}
dialog h3{margin:0 0 .6em}
dialog .target{font-family:var(--mono);background:var(--chip);padding:.4em .6em;border-radius:4px;word-break:break-all;white-space:pre-wrap}
dialog .buttons{display:flex;justify-content:flex-end;gap:.6em;margin-top:1.2em}
dialog .err{color:var(--bad)}
table.kv{border-collapse:collapse;background:var(--card);width:100%;max-width:56em}
table.kv th{width:19em}
table.kv th,table.kv td{border:1px solid var(--line);padding:.3em .8em;text-align:left;vertical-align:top}
table.kv th{font-weight:600;background:#f3f5f8;font-family:var(--mono);font-size:.92em;white-space:nowrap}
table.kv td{font-family:var(--mono);font-size:.92em;white-space:pre-wrap;word-break:break-all}
`;
