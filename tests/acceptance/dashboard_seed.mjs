// Gives a fresh server something to show on its dashboard, through the official TypeScript
// client: customers on the example catalog's plans (builtin:example), usage of tool_calls by
// tool, and a credit grant. Run by dashboard.sh before the browser checks.
//
//   node tests/acceptance/dashboard_seed.mjs BASE_URL ADMIN_KEY

import { check, finish, mcpConnect, tally } from "./dashboard_common.mjs";

const [base, key] = process.argv.slice(2);
if (!base || !key) {
  console.error("usage: dashboard_seed.mjs BASE_URL ADMIN_KEY");
  process.exit(2);
}

async function call(client, name, args) {
  const r = await client.callTool({ name, arguments: args });
  if (r.isError) throw new Error(`${name} ${JSON.stringify(args)}: ${(r.content || []).map((c) => c.text).join(" ")}`);
  return r.structuredContent;
}

async function main() {
  const client = await mcpConnect(base, key);
  try {
    const customers = [
      ["acme", "professional"],
      ["globex", "starter"],
      ["initech", "starter"],
      ["hooli", "free"],
      ["oneil-sons", "free"],
    ];
    for (const [customer, plan] of customers) await call(client, "create_customer", { customer, plan });
    // Two of them out of their trial (so MRR has something to show: 99.00 + 290.00 / 12), one
    // churned (canceled).
    await call(client, "set_customer_plan", { customer: "acme", plan: "professional", status: "active", reset_period: true });
    await call(client, "set_customer_plan", { customer: "globex", plan: "starter", interval: "year", status: "active", reset_period: true });
    await call(client, "set_customer_plan", { customer: "initech", plan: "starter", status: "canceled" });
    check(`seed: ${customers.length} customers on the example catalog's plans, two paying, one churned`, true);
    const tools = [["search", 40], ["summarize", 17], ["translate", 6]];
    let n = 0;
    for (const [customer] of customers.slice(0, 3))
      for (const [tool, calls] of tools)
        for (let i = 0; i < Math.ceil(calls / (customer === "acme" ? 1 : 3)); i++)
          await call(client, "record_usage", { customer, meter: "tool_calls", quantity: 1, dimensions: { tool }, idempotency_key: `seed-${customer}-${tool}-${i}` }), (n += 1);
    check(`seed: ${n} tool_calls recorded by tool`, true);
    await call(client, "grant_credits", { customer: "acme", credits: 500, idempotency_key: "seed-grant-acme" });
    check("seed: 500 credits granted", true);
  } finally {
    await client.close().catch(() => {});
  }
}

main()
  .catch((e) => check("seeding the server", false, e.message))
  .finally(() => {
    if (tally.passed + tally.failed === 0) check("anything was seeded", false);
    finish();
  });
