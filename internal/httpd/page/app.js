"use strict";
// The status page: polls /status.json once a second and redraws. Builds
// every cell with textContent: names come from the config, never as HTML.

const $ = (id) => document.getElementById(id);

function fill(tbody, rows) {
  const out = document.createDocumentFragment();
  for (const cells of rows) {
    const tr = document.createElement("tr");
    for (const c of cells) {
      const td = document.createElement("td");
      if (c && typeof c === "object") {
        td.textContent = c.text;
        td.className = c.cls;
      } else {
        td.textContent = c === undefined || c === null ? "–" : String(c);
      }
      tr.appendChild(td);
    }
    out.appendChild(tr);
  }
  tbody.replaceChildren(out);
}

const num = (v, digits) => (v === undefined || v === null) ? "–" : Number(v).toLocaleString("en-US", {maximumFractionDigits: digits || 0});
const micros = (v) => v === undefined ? "–" : (v >= 1000 ? num(v / 1000, 2) + " ms" : num(v, 1) + " µs");

function pill(el, text, ok) {
  el.textContent = text;
  el.className = "pill " + (ok ? "ok" : "bad");
}

function render(v) {
  pill($("ready"), v.Ready ? "ready" : "not ready", v.Ready);
  $("why").textContent = v.ReadyWhy;
  $("updated").textContent = "updated " + new Date(v.Now).toLocaleTimeString();
  const n = v.Node;
  if (!n) {
    pill($("role"), "no node", false);
    return;
  }
  pill($("role"), n.Role + (n.ServingFIX ? " · serving FIX" : ""), n.Stopped === "");
  $("epoch").textContent = n.Epoch;
  $("lastSeq").textContent = num(n.Journal.LastSeq);
  $("fills").textContent = n.Counting ? num(n.Fills) : "not counted";
  const w = v.Window;
  $("ordersPerSec").textContent = w ? num(w.OrdersPerSec, 1) : "–";
  $("commandsPerSec").textContent = w ? num(w.CommandsPerSec, 1) : "–";
  $("ackP50").textContent = w && w.Acks ? micros(w.AckP50Micros) : "–";
  $("ackP99").textContent = w && w.Acks ? micros(w.AckP99Micros) : "–";
  fill($("sessions"), (n.Sessions || []).map((s) => [s.TargetCompID,
    {text: s.LoggedOn ? "logged on" : "logged out", cls: s.LoggedOn ? "on" : "off"}, num(s.QueuedBytes), num(s.ResendRequests)]));
  fill($("symbols"), (n.Symbols || []).map((s) => [s.Name,
    s.HasTop && s.BidQty ? num(s.BidQty) : "", s.HasTop && s.BidQty ? s.BidPx : "",
    s.HasTop && s.AskQty ? s.AskPx : "", s.HasTop && s.AskQty ? num(s.AskQty) : "",
    s.HasTrade ? s.LastPx : "", s.HasTrade ? num(s.LastQty) : ""]));
  const j = n.Journal;
  fill($("journal"), [["folder", j.Dir], ["sync", j.Sync], ["last seq", num(j.LastSeq)],
    ["hot segments", num(j.Segments)], ["hot bytes", num(j.Bytes)], ["archived segments", num(j.Archived)],
    ["snapshots written", num(n.Snapshots)], ["time writing them", num(n.SnapshotSeconds, 3) + " s"]]);
  const r = n.Replication;
  if (!r) {
    fill($("replication"), [["replication", "off"]]);
  } else if (n.Role === "standby") {
    fill($("replication"), [["role", "standby"], ["caught up", n.CaughtUp ? "yes" : "no"],
      ["primary silent for", num(n.PrimarySilentSeconds, 3) + " s"],
      ["primary published to", num(r.PrimaryPublished)], ["promotions", num(n.Promotions)]]);
  } else {
    fill($("replication"), [["role", "primary"], ["standby connected", r.Standby.Connected ? "yes" : "no"],
      ["shipped", num(r.Standby.Shipped)], ["acknowledged", num(r.Standby.Acked)],
      ["lag (records)", num(Math.max(r.Standby.Shipped - r.Standby.Acked, 0))],
      ["degraded", r.Degraded ? "yes (going on alone)" : "no"],
      ["acknowledgements", r.Holding ? "HELD: seq " + num(r.Holding) + " waits for the standby" : "flowing"],
      ["split brain", r.SplitBrain ? "YES" : "no"],
      ["promotions", num(n.Promotions)]]);
  }
  renderShard(n.Shard);
  fill($("stages"), (n.Stages || []).map((s) => [s.Name, num(s.Events),
    s.Name === "writers" ? "" : num(s.Lag), s.Name === "writers" ? "" : num(s.MeanBatch, 1), s.Name === "writers" ? "" : num(s.Parks)]));
}

// renderShard: the shard led through etcd as the node sees it (no etcd
// round trip): the members' seqs are what each last published (at its
// start and at each status poll), this node's own live; 'ringex status
// --etcd' polls them.
function renderShard(sh) {
  $("shardSection").hidden = !sh;
  $("shardName").textContent = sh ? "shard " + sh.Shard + " · " + sh.Member : "";
  if (!sh) {
    return;
  }
  fill($("shard"), [["shard", sh.Shard], ["this member", sh.Member],
    ["leader", sh.Leader || "none known"], ["fencing token", num(sh.Token)],
    ["leading", sh.Leading ? "yes" : "no"],
    ["lease left", num(sh.LeaseRemainingSeconds, 3) + " s"],
    ["may acknowledge", sh.Leading ? {text: sh.MayAcknowledge ? "yes" : "NO: " + sh.Why, cls: sh.MayAcknowledge ? "on" : "off"} : "no (standby)"],
    ["handoff under way", sh.Handoff ? "yes" : "no"], ["sync set", (sh.SyncSet || []).join(", ") || "-"]]);
  fill($("shardMembers"), (sh.Members || []).map((m) => m.Name === sh.Member ?
    [m.Name + " (this node)", num(m.DurableSeq), num(m.Epoch), "live"] :
    [m.Name, num(m.DurableSeq), num(m.Epoch), num(m.HeardSecondsAgo, 1) + " s ago"]));
}

async function poll() {
  try {
    const res = await fetch("status.json", {cache: "no-store"});
    if (res.ok) {
      render(await res.json());
    } else {
      $("updated").textContent = "status.json: HTTP " + res.status;
    }
  } catch (e) {
    $("updated").textContent = "no answer from the node (" + e.message + ")";
  }
  setTimeout(poll, 1000);
}

poll();
