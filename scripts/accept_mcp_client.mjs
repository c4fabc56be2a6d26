// Acceptance client for `gait mcp proxy`: the official MCP TypeScript SDK
// client drives @modelcontextprotocol/server-filesystem through the proxy.
//
// Run by scripts/accept_mcp.sh (copied next to the installed node_modules so
// the SDK resolves). Configuration comes from the environment:
//   GAIT          the gait binary
//   PROXY_CMD     the proxy subcommand words, space separated ("mcp proxy")
//   POLICY, PRIVATE_KEY, TRACE_DIR, DATA_DIR, SERVER_JS
// Prints one "PASS <check>" or "FAIL <check>: <detail>" line per check, then
// a JSON line "RESULT {...}" with the number of tools/call requests sent.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import fs from "node:fs";
import path from "node:path";

const env = process.env;
const dataDir = env.DATA_DIR;
let calls = 0;

function check(name, ok, detail = "") {
  console.log(ok ? `PASS ${name}` : `FAIL ${name}: ${detail}`);
}

function text(result) {
  return (result.content || [])
    .filter((c) => c.type === "text")
    .map((c) => c.text)
    .join("\n");
}

async function session(extraFlags, body) {
  const args = [
    ...env.PROXY_CMD.split(" "),
    "--policy", env.POLICY,
    "--key-mode", "prod",
    "--private-key", env.PRIVATE_KEY,
    "--trace-out", env.TRACE_DIR,
    ...extraFlags,
    "--", process.execPath, env.SERVER_JS, dataDir,
  ];
  const transport = new StdioClientTransport({ command: env.GAIT, args, stderr: "pipe" });
  let stderr = "";
  transport.stderr?.on("data", (d) => { stderr += d.toString(); });
  const client = new Client({ name: "gait-accept", version: "1.0.0" });
  await client.connect(transport);
  try {
    await body(client);
  } finally {
    await client.close();
  }
  return stderr;
}

async function call(client, name, args) {
  calls += 1;
  return client.callTool({ name, arguments: args });
}

async function main() {
  const readme = path.join(dataDir, "readme.txt");
  const created = path.join(dataDir, "created.txt");

  const stderr = await session([], async (client) => {
    const listed = await client.listTools();
    const names = listed.tools.map((t) => t.name);
    check("tools/list relayed through the proxy", names.includes("read_text_file") && names.includes("write_file"), names.join(","));

    const read = await call(client, "read_text_file", { path: readme });
    check("allowed read returns the file content", !read.isError && text(read).includes("hello from gait"), JSON.stringify(read).slice(0, 300));

    const write = await call(client, "write_file", { path: created, content: "should never exist" });
    const wtext = text(write);
    const decision = write._meta?.["gait/decision"] || {};
    check("blocked write returns isError true", write.isError === true, JSON.stringify(write).slice(0, 300));
    check("blocked write names verdict and reason", /verdict: block/.test(wtext) && /writes_forbidden/.test(wtext), wtext);
    check("blocked write carries a trace id", typeof decision.trace_id === "string" && decision.trace_id.length > 0, JSON.stringify(decision));
    check("blocked write did not create the file", !fs.existsSync(created));

    const again = await call(client, "read_text_file", { path: readme });
    check("session keeps working after the block", !again.isError && text(again).includes("hello from gait"), JSON.stringify(again).slice(0, 300));

    const dirs = await call(client, "list_allowed_directories", {});
    check("second allowed tool works", !dirs.isError, JSON.stringify(dirs).slice(0, 300));
  });
  check("proxy reported the refusal on stderr", /refused tools\/call write_file/.test(stderr), stderr.slice(0, 500));

  await session(["--hide-blocked-tools"], async (client) => {
    const listed = await client.listTools();
    const names = listed.tools.map((t) => t.name);
    check("--hide-blocked-tools hides write tools", !names.includes("write_file") && !names.includes("edit_file") && names.includes("read_text_file"), names.join(","));
    const write = await call(client, "write_file", { path: created, content: "x" });
    check("a hidden tool called anyway is still blocked", write.isError === true && !fs.existsSync(created), JSON.stringify(write).slice(0, 300));
  });

  console.log("RESULT " + JSON.stringify({ calls }));
}

main().catch((e) => {
  console.log(`FAIL client crashed: ${e?.stack || e}`);
  console.log("RESULT " + JSON.stringify({ calls }));
});
