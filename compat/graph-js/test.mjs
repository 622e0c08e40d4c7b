// The licensing flows of Allot driven by Microsoft's JavaScript Graph client
// (@microsoft/microsoft-graph-client), the way a customer's Node.js script
// would: list SKUs, create users and groups, add members, assign licenses
// with disabledPlans to a group and to a user, watch the group's processing
// state, read the per-user states and license details, find members with
// errors, filter on assignedLicenses/any(…), page past 999 users with the
// client's PageIterator, reprocess, and check the type of every field read.
//
// run.sh starts the server over TLS and hands this script, through the
// environment: ALLOT_URL (https://127.0.0.1:PORT), ALLOT_TOKEN (a Global
// Administrator token of a fresh tenant whose default usage location is US)
// and the SKU ids with the seats it bought. ALLOT_BIG is how many users the
// paging flow creates (more than 999 so that a page of 999 has a next one).
//
// The client needs a fetch. Its README says to import a polyfill such as
// isomorphic-fetch; Node 20 has a global fetch, which the polyfill leaves in
// place. run.sh runs this script twice: with Node's own fetch, and with
// `--no-experimental-fetch` so that isomorphic-fetch (node-fetch) is used.
import "isomorphic-fetch";
import graph from "@microsoft/microsoft-graph-client";

const { Client, PageIterator, GraphError } = graph;

const env = (name, def) => {
	const v = process.env[name] ?? def;
	if (v === undefined || v === "") {
		console.error(`test.mjs: ${name} is not set (run it through run.sh)`);
		process.exit(2);
	}
	return v;
};
const base = env("ALLOT_URL").replace(/\/+$/, "");
const token = env("ALLOT_TOKEN");
const E3 = env("SKU_E3", "6fd2c87f-b296-42f0-b197-1e91e994b900"); // Office 365 E3
const EXO2 = env("SKU_EXO2", "19ec0d23-8335-4cbd-94ac-6050e30712fa"); // Exchange Online (Plan 2)
const EXO1 = env("SKU_EXO1", "4b9405b0-7788-4568-add1-99614e613b69"); // Exchange Online (Plan 1)
const E5 = env("SKU_E5", "06ebc4ee-1bb5-47dd-8120-11324bc54e06"); // Microsoft 365 E5: no subscription
const seatsE3 = Number(env("SEATS_E3"));
const seatsEXO2 = Number(env("SEATS_EXO2"));
const BIG = Number(env("ALLOT_BIG", "1005"));
const run = env("ALLOT_RUN", "run");

const polyfilled = globalThis.fetch.toString().includes("realFetch");
const fetchName = polyfilled ? "isomorphic-fetch (node-fetch)" : "Node.js built-in fetch";
console.log(`# ${run}: @microsoft/microsoft-graph-client with ${fetchName} against ${base}`);
const wantFetch = process.env.ALLOT_EXPECT_FETCH; // "builtin" or "polyfill", from run.sh
if (wantFetch && wantFetch !== (polyfilled ? "polyfill" : "builtin")) {
	console.error(`test.mjs: expected the ${wantFetch} fetch, got ${fetchName}`);
	process.exit(1);
}

// The client sends the bearer token only to https URLs of Graph or of the
// custom hosts it is given (hostnames, no port).
const client = Client.initWithMiddleware({
	authProvider: { getAccessToken: async () => token },
	baseUrl: base + "/",
	defaultVersion: "v1.0",
	customHosts: new Set([new URL(base).hostname]),
});

// ---------------------------------------------------------------- checks

let passed = 0;
let failed = 0;
class CheckFailed extends Error {}

function check(cond, what, got) {
	if (!cond) {
		throw new CheckFailed(got === undefined ? what : `${what}; got ${JSON.stringify(got)}`);
	}
}

async function step(name, fn) {
	const t0 = Date.now();
	try {
		await fn();
		passed++;
		console.log(`ok   ${name} (${Date.now() - t0} ms)`);
	} catch (e) {
		failed++;
		const why = e instanceof CheckFailed ? e.message : e instanceof GraphError ? `GraphError ${e.statusCode} ${e.code}: ${e.message}` : e.stack || String(e);
		console.log(`FAIL ${name}: ${why}`);
	}
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const isGuid = (v) => typeof v === "string" && GUID.test(v);
const isTime = (v) => typeof v === "string" && TIME.test(v) && !Number.isNaN(Date.parse(v));
const isInt = (v) => Number.isInteger(v);
const isString = (v) => typeof v === "string";
const isBool = (v) => typeof v === "boolean";

function checkTypes(obj, types, what) {
	check(obj !== null && typeof obj === "object", `${what} is an object`, obj);
	for (const [k, test] of Object.entries(types)) {
		check(k in obj, `${what} has ${k}`, obj);
		check(test(obj[k]), `${what}.${k} has the right type`, obj[k]);
	}
}

const sameSet = (a, b) => a.length === b.length && [...a].sort().join() === [...b].sort().join();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// pool runs fn over items with a few requests in flight, as a script
// creating many objects would.
async function pool(items, n, fn) {
	const out = new Array(items.length);
	let next = 0;
	await Promise.all(
		Array.from({ length: n }, async () => {
			while (next < items.length) {
				const i = next++;
				out[i] = await fn(items[i], i);
			}
		}),
	);
	return out;
}

async function graphError(promise) {
	try {
		await promise;
	} catch (e) {
		return e;
	}
	throw new CheckFailed("the call succeeded; an error was expected");
}

// ---------------------------------------------------------------- flows

const skus = {}; // skuId -> subscribedSku
const planIds = {}; // servicePlanName -> servicePlanId
const users = {}; // name -> id
const bigIds = [];
const groups = {}; // name -> id
let disabledE3 = [];
let disabledEXO1 = [];

await step("GET /subscribedSkus: the list and every field's type", async () => {
	const res = await client.api("/subscribedSkus").get();
	check(isString(res["@odata.context"]) && res["@odata.context"].startsWith(base + "/v1.0/$metadata#subscribedSkus"), "@odata.context on the server's https base", res["@odata.context"]);
	check(Array.isArray(res.value) && res.value.length === 3, "value lists the three subscribed SKUs", res.value?.length);
	for (const s of res.value) {
		checkTypes(s, { id: isString, skuId: isGuid, skuPartNumber: isString, appliesTo: isString, capabilityStatus: isString, consumedUnits: isInt, prepaidUnits: (v) => v && typeof v === "object", servicePlans: Array.isArray, subscriptionIds: Array.isArray }, `subscribedSku ${s.skuPartNumber}`);
		checkTypes(s.prepaidUnits, { enabled: isInt, suspended: isInt, warning: isInt, lockedOut: isInt }, `${s.skuPartNumber}.prepaidUnits`);
		check(s.subscriptionIds.every(isString), `${s.skuPartNumber}.subscriptionIds are strings`, s.subscriptionIds);
		for (const p of s.servicePlans) {
			checkTypes(p, { servicePlanId: isGuid, servicePlanName: isString, provisioningStatus: isString, appliesTo: isString }, `${s.skuPartNumber} service plan`);
			planIds[p.servicePlanName] = p.servicePlanId;
		}
		skus[s.skuId] = s;
	}
	for (const [sku, seats] of [[E3, seatsE3], [EXO2, seatsEXO2]]) {
		const s = skus[sku];
		check(s, `SKU ${sku} is subscribed`);
		check(s.prepaidUnits.enabled === seats && s.consumedUnits === 0, `${s.skuPartNumber}: ${seats} enabled seats, none consumed`, s);
		check(s.appliesTo === "User" && s.capabilityStatus === "Enabled", `${s.skuPartNumber} applies to users and is enabled`, s);
	}
	check(!skus[E5], "an unbought SKU is not listed", skus[E5]);
	disabledE3 = [planIds.FORMS_PLAN_E3, planIds.BPOS_S_TODO_2];
	disabledEXO1 = [planIds.BPOS_S_TODO_1];
	check(disabledE3.every(isGuid) && disabledEXO1.every(isGuid), "the plans to disable are listed", { disabledE3, disabledEXO1 });
});

await step("GET /subscribedSkus/{id} and $select", async () => {
	const one = await client.api(`/subscribedSkus/${skus[E3].id}`).get();
	check(one.skuId === E3 && one.skuPartNumber === "ENTERPRISEPACK", "the SKU by id", one);
	const sel = await client.api("/subscribedSkus").select(["skuId", "consumedUnits"]).get();
	const e3 = sel.value.find((s) => s.skuId === E3);
	check(e3 && isInt(e3.consumedUnits) && !("servicePlans" in e3), "$select limits the properties", e3);
});

const createUser = async (name) => {
	const u = await client.api("/users").post({
		accountEnabled: true,
		displayName: name,
		mailNickname: name,
		userPrincipalName: `${name}@compat.example`,
		passwordProfile: { forceChangePasswordNextSignIn: true, password: "Compat-" + name + "-1!" },
	});
	return u;
};

await step("POST /users: named users, their fields' types", async () => {
	for (const name of ["erin", "fred", "dora"]) {
		const u = await createUser(name);
		checkTypes(u, { id: isGuid, displayName: isString, userPrincipalName: isString }, `created user ${name}`);
		check(u.userPrincipalName === `${name}@compat.example` && u.displayName === name, "the created user echoes its names", u);
		users[name] = u.id;
	}
	const got = await client.api(`/users/${users.dora}`).select(["id", "accountEnabled", "usageLocation", "proxyAddresses", "createdDateTime", "assignedLicenses", "licenseAssignmentStates"]).get();
	checkTypes(got, { id: isGuid, accountEnabled: isBool, proxyAddresses: Array.isArray, createdDateTime: isTime, assignedLicenses: Array.isArray, licenseAssignmentStates: Array.isArray }, "selected user");
	check(got.usageLocation === null || isString(got.usageLocation), "usageLocation is a string or null", got.usageLocation);
	check(got.assignedLicenses.length === 0 && got.licenseAssignmentStates.length === 0, "a new user has no licenses", got);
	const byUPN = await client.api("/users/dora@compat.example").get();
	check(byUPN.id === users.dora, "a user is found by userPrincipalName", byUPN);
});

await step(`POST /users: ${BIG} users for paging`, async () => {
	const made = await pool(Array.from({ length: BIG }, (_, i) => `staff${String(i).padStart(5, "0")}`), 8, createUser);
	for (const u of made) {
		check(isGuid(u.id), "created user id", u);
		bigIds.push(u.id);
	}
	check(new Set(bigIds).size === BIG, "user ids are distinct", bigIds.length);
});

await step("POST /groups: security groups and their fields' types", async () => {
	for (const name of ["AllStaff", "Mailboxes"]) {
		const g = await client.api("/groups").post({ displayName: name, mailNickname: name, mailEnabled: false, securityEnabled: true, groupTypes: [] });
		checkTypes(g, { id: isGuid, displayName: isString, mailEnabled: isBool, securityEnabled: isBool, groupTypes: Array.isArray }, `created group ${name}`);
		check(g.securityEnabled === true && g.mailEnabled === false && g.displayName === name, "the created group echoes its body", g);
		groups[name] = g.id;
	}
});

const addMember = (group, user) => client.api(`/groups/${group}/members/$ref`).post({ "@odata.id": `${base}/v1.0/directoryObjects/${user}` });

await step("POST /groups/{id}/members/$ref and GET members", async () => {
	await addMember(groups.Mailboxes, users.erin); // erin joins first: she gets the one seat
	await addMember(groups.Mailboxes, users.fred);
	await pool(bigIds, 8, (id) => addMember(groups.AllStaff, id));
	const m = await client.api(`/groups/${groups.Mailboxes}/members`).get();
	check(sameSet(m.value.map((x) => x.id), [users.erin, users.fred]), "members lists both users", m.value);
	check(m.value.every((x) => x["@odata.type"] === "#microsoft.graph.user"), "members carry @odata.type", m.value);
	const dup = await graphError(addMember(groups.Mailboxes, users.erin));
	check(dup instanceof GraphError && dup.statusCode === 400 && isString(dup.code), "adding a member twice is a GraphError 400", { status: dup.statusCode, code: dup.code });
});

const assignGroup = async (group, sku, disabledPlans) => {
	const g = await client.api(`/groups/${group}/assignLicense`).post({ addLicenses: [{ skuId: sku, disabledPlans }], removeLicenses: [] });
	check(g && g.id === group, "group assignLicense answers with the group", g);
};

await step("POST /groups/{id}/assignLicense with disabledPlans", async () => {
	await assignGroup(groups.AllStaff, E3, disabledE3);
	await assignGroup(groups.Mailboxes, EXO2, []);
	const g = await client.api(`/groups/${groups.AllStaff}`).select(["id", "assignedLicenses"]).get();
	check(g.assignedLicenses.length === 1 && g.assignedLicenses[0].skuId === E3 && sameSet(g.assignedLicenses[0].disabledPlans, disabledE3), "the group's assignedLicenses keep the disabled plans", g.assignedLicenses);
});

await step("GET licenseProcessingState until ProcessingComplete", async () => {
	const seen = new Set();
	for (const group of [groups.AllStaff, groups.Mailboxes]) {
		const deadline = Date.now() + 180_000;
		for (;;) {
			const g = await client.api(`/groups/${group}`).select(["id", "licenseProcessingState"]).get();
			check(g.licenseProcessingState && isString(g.licenseProcessingState.state), "licenseProcessingState is {state: string}", g.licenseProcessingState);
			const st = g.licenseProcessingState.state;
			check(["QueuedForProcessing", "ProcessingInProgress", "ProcessingComplete"].includes(st), "a documented processing state", st);
			seen.add(st);
			if (st === "ProcessingComplete") break;
			check(Date.now() < deadline, "processing finished within 3 minutes", st);
			await sleep(100);
		}
	}
	console.log(`     states seen: ${[...seen].join(", ")}`);
});

await step("licenseAssignmentStates and assignedPlans of a group member", async () => {
	const u = await client.api(`/users/${bigIds[0]}`).select(["id", "assignedLicenses", "assignedPlans", "licenseAssignmentStates"]).get();
	check(u.assignedLicenses.length === 1 && u.assignedLicenses[0].skuId === E3 && sameSet(u.assignedLicenses[0].disabledPlans, disabledE3), "assignedLicenses shows the inherited E3 with its disabled plans", u.assignedLicenses);
	check(u.licenseAssignmentStates.length === 1, "one state", u.licenseAssignmentStates);
	const st = u.licenseAssignmentStates[0];
	checkTypes(st, { assignedByGroup: isGuid, disabledPlans: Array.isArray, error: isString, lastUpdatedDateTime: isTime, skuId: isGuid, state: isString }, "licenseAssignmentState");
	check(st.assignedByGroup === groups.AllStaff && st.skuId === E3 && st.state === "Active" && st.error === "None" && sameSet(st.disabledPlans, disabledE3), "Active from AllStaff with the disabled plans", st);
	for (const p of u.assignedPlans) {
		checkTypes(p, { assignedDateTime: isTime, capabilityStatus: isString, service: isString, servicePlanId: isGuid }, "assignedPlan");
	}
	const enabled = u.assignedPlans.filter((p) => p.capabilityStatus === "Enabled").map((p) => p.servicePlanId);
	check(enabled.includes(planIds.EXCHANGE_S_ENTERPRISE) && !disabledE3.some((id) => enabled.includes(id)), "assignedPlans has E3's plans without the disabled ones", enabled);
});

await step("POST /users/{id}/assignLicense with disabledPlans (direct)", async () => {
	const u = await client.api(`/users/${users.dora}/assignLicense`).post({ addLicenses: [{ skuId: EXO1, disabledPlans: disabledEXO1 }], removeLicenses: [] });
	check(u && u.id === users.dora, "user assignLicense answers with the user", u);
	const got = await client.api(`/users/${users.dora}`).select(["id", "assignedLicenses", "licenseAssignmentStates"]).get();
	const st = got.licenseAssignmentStates;
	check(st.length === 1 && st[0].assignedByGroup === null && st[0].skuId === EXO1 && st[0].state === "Active" && st[0].error === "None" && sameSet(st[0].disabledPlans, disabledEXO1), "a direct Active state: assignedByGroup is null", st);
	check(got.assignedLicenses.length === 1 && sameSet(got.assignedLicenses[0].disabledPlans, disabledEXO1), "assignedLicenses keeps the disabled plan", got.assignedLicenses);
});

await step("assignLicense errors come back as GraphError", async () => {
	const e = await graphError(client.api(`/users/${users.dora}/assignLicense`).post({ addLicenses: [{ skuId: E5, disabledPlans: [] }], removeLicenses: [] }));
	check(e instanceof GraphError, "a GraphError", String(e));
	check(e.statusCode === 400 && e.code === "Request_BadRequest" && isString(e.message) && e.message.includes(E5), "400 Request_BadRequest naming the SKU", { status: e.statusCode, code: e.code, message: e.message });
	check(isString(e.requestId) && e.requestId !== "" && e.date instanceof Date && !Number.isNaN(e.date.getTime()), "requestId and date from innerError", { requestId: e.requestId, date: e.date });
	const missing = await graphError(client.api(`/users/${users.dora}/assignLicense`).post({ addLicenses: [] }));
	check(missing.statusCode === 400 && missing.code === "Request_BadRequest" && /removeLicenses/.test(missing.message), "a missing removeLicenses is named", { status: missing.statusCode, message: missing.message });
	const inherited = await graphError(client.api(`/users/${bigIds[0]}/assignLicense`).post({ addLicenses: [], removeLicenses: [E3] }));
	check(inherited.statusCode === 400 && /inherited/.test(inherited.message), "an inherited license cannot be removed from the user", { status: inherited.statusCode, message: inherited.message });
	const after = await client.api(`/users/${users.dora}`).select(["licenseAssignmentStates"]).get();
	check(after.licenseAssignmentStates.length === 1, "a refused assignment changed nothing", after.licenseAssignmentStates);
});

await step("GET /users/{id}/licenseDetails", async () => {
	for (const [id, sku, part, disabled] of [[users.dora, EXO1, "EXCHANGESTANDARD", disabledEXO1], [bigIds[0], E3, "ENTERPRISEPACK", disabledE3]]) {
		const res = await client.api(`/users/${id}/licenseDetails`).get();
		check(isString(res["@odata.context"]) && res["@odata.context"].endsWith(`/v1.0/$metadata#users('${id}')/licenseDetails`), "@odata.context of licenseDetails", res["@odata.context"]);
		check(res.value.length === 1, "one licenseDetails item", res.value);
		const d = res.value[0];
		checkTypes(d, { id: isString, skuId: isGuid, skuPartNumber: isString, servicePlans: Array.isArray }, "licenseDetails");
		check(d.skuId === sku && d.skuPartNumber === part && !isGuid(d.id), "the SKU, with an opaque id", d);
		for (const p of d.servicePlans) {
			checkTypes(p, { servicePlanId: isGuid, servicePlanName: isString, provisioningStatus: isString, appliesTo: isString }, "licenseDetails service plan");
		}
		const off = d.servicePlans.filter((p) => p.provisioningStatus === "Disabled").map((p) => p.servicePlanId);
		check(sameSet(off, disabled), "exactly the disabled plans are Disabled", d.servicePlans);
		check(d.servicePlans.filter((p) => !off.includes(p.servicePlanId)).every((p) => p.provisioningStatus === "Success"), "the others are Success", d.servicePlans);
	}
	const sel = await client.api(`/users/${users.dora}/licenseDetails`).select("skuId").get();
	check(sel.value[0].skuId === EXO1 && !("servicePlans" in sel.value[0]), "$select on licenseDetails", sel.value[0]);
});

await step("GET /groups/{id}/membersWithLicenseErrors and hasMembersWithLicenseErrors", async () => {
	const res = await client.api(`/groups/${groups.Mailboxes}/membersWithLicenseErrors`).get();
	check(res.value.length === 1 && res.value[0].id === users.fred && res.value[0]["@odata.type"] === "#microsoft.graph.user", "fred, who found no seat, is the member with errors", res.value);
	const none = await client.api(`/groups/${groups.AllStaff}/membersWithLicenseErrors`).get();
	check(Array.isArray(none.value) && none.value.length === 0, "AllStaff has no member with errors", none.value);
	const fred = await client.api(`/users/${users.fred}`).select(["licenseAssignmentStates"]).get();
	const st = fred.licenseAssignmentStates;
	check(st.length === 1 && st[0].state === "Error" && st[0].error === "CountViolation" && st[0].assignedByGroup === groups.Mailboxes, "fred is in CountViolation from Mailboxes", st);
	const g = await client.api("/groups").filter("hasMembersWithLicenseErrors eq true").get();
	check(sameSet(g.value.map((x) => x.id), [groups.Mailboxes]), "$filter=hasMembersWithLicenseErrors eq true finds Mailboxes only", g.value);
});

await step(`$filter=assignedLicenses/any(…) with $count, paged with PageIterator over ${BIG} users`, async () => {
	const first = await client
		.api("/users")
		.header("ConsistencyLevel", "eventual")
		.filter(`assignedLicenses/any(x:x/skuId eq ${E3})`)
		.count(true)
		.select(["id", "displayName"])
		.top(999)
		.get();
	check(first["@odata.count"] === BIG, "@odata.count on the first page", first["@odata.count"]);
	check(first.value.length === Math.min(999, BIG), "a full first page of 999", first.value.length);
	check(isString(first["@odata.nextLink"]) && first["@odata.nextLink"].startsWith(base + "/v1.0/users?"), "an absolute https nextLink on the server", first["@odata.nextLink"]);
	// More than the first page's 999 items reached: the iterator followed nextLink.
	const ids = [];
	const it = new PageIterator(client, first, (u) => {
		check(isGuid(u.id) && isString(u.displayName), "a paged user has the selected fields", u);
		ids.push(u.id);
		return true;
	});
	await it.iterate();
	check(it.isComplete(), "the iterator completed");
	check(ids.length === BIG && new Set(ids).size === BIG && sameSet(ids, bigIds), "every E3 holder exactly once", { got: ids.length, unique: new Set(ids).size });

	const gs = await client.api("/groups").filter(`assignedLicenses/any(x:x/skuId eq ${EXO2})`).get();
	check(sameSet(gs.value.map((x) => x.id), [groups.Mailboxes]), "the same filter on /groups", gs.value);
	const exo1 = await client.api("/users").filter(`assignedLicenses/any(x:x/skuId eq ${EXO1})`).get();
	check(sameSet(exo1.value.map((x) => x.id), [users.dora]), "a direct license matches the filter too", exo1.value);
});

await step("PageIterator over every user with the default page size", async () => {
	const first = await client.api("/users").select("id").get();
	check(first.value.length === 100 && isString(first["@odata.nextLink"]), "a default page of 100 with a nextLink", first.value.length);
	const ids = new Set();
	await new PageIterator(client, first, (u) => {
		ids.add(u.id);
		return true;
	}).iterate();
	check(ids.size === BIG + 3, "every user once", ids.size);
	// Stopping early and resuming, as the iterator allows.
	let n = 0;
	const first2 = await client.api("/users").select("id").top(7).get();
	const it = new PageIterator(client, first2, () => ++n % 10 !== 0);
	await it.iterate();
	check(n === 10 && !it.isComplete(), "the callback stopped the iteration", n);
	await it.resume();
	check(n === 20, "resume goes on from where it stopped", n);
});

await step("POST /users/{id}/reprocessLicenseAssignment", async () => {
	const u = await client.api(`/users/${users.fred}/reprocessLicenseAssignment`).post();
	check(u && u.id === users.fred && isString(u.userPrincipalName), "reprocess answers with the user", u);
	const st = (await client.api(`/users/${users.fred}`).select(["licenseAssignmentStates"]).get()).licenseAssignmentStates;
	check(st.length === 1 && st[0].error === "CountViolation", "with no seat free fred stays in CountViolation", st);
	const e = await graphError(client.api("/users/00000000-0000-0000-0000-000000000001/reprocessLicenseAssignment").post());
	check(e instanceof GraphError && e.statusCode === 404 && e.code === "Request_ResourceNotFound", "an unknown user is a GraphError 404", { status: e.statusCode, code: e.code });

	// A seat bought through Allot's own API (the same client, an absolute
	// URL): fred, waiting for it, gets it.
	const sub = await client.api(`${base}/allot/v1/subscriptions/${EXO2}`).patch({ seats: seatsEXO2 + 1 });
	check(sub && sub.skuId === EXO2, "PATCH /allot/v1/subscriptions/{skuId} through the client", sub);
	const deadline = Date.now() + 60_000;
	for (;;) {
		const s = (await client.api(`/users/${users.fred}`).select(["licenseAssignmentStates"]).get()).licenseAssignmentStates;
		if (s.length === 1 && s[0].state === "Active") break;
		check(Date.now() < deadline, "fred got the new seat within a minute", s);
		await sleep(100);
	}
	const again = await client.api(`/users/${users.fred}/reprocessLicenseAssignment`).post();
	check(again.id === users.fred, "reprocess of a licensed user", again);
	const res = await client.api(`/groups/${groups.Mailboxes}/membersWithLicenseErrors`).get();
	check(res.value.length === 0, "Mailboxes has no member with errors any more", res.value);
	const g = await client.api("/groups").filter("hasMembersWithLicenseErrors eq true").get();
	check(g.value.length === 0, "no group has members with errors", g.value);
});

await step("consumedUnits after processing", async () => {
	const res = await client.api("/subscribedSkus").get();
	const by = Object.fromEntries(res.value.map((s) => [s.skuId, s]));
	check(by[E3].consumedUnits === BIG, "E3 consumed by every AllStaff member", by[E3].consumedUnits);
	check(by[EXO2].consumedUnits === 2 && by[EXO2].prepaidUnits.enabled === seatsEXO2 + 1, "EXO2 consumed by erin and fred", by[EXO2]);
	check(by[EXO1].consumedUnits === 1, "EXO1 consumed by dora", by[EXO1].consumedUnits);
});

await step("POST /$batch with BatchRequestContent: steps, dependsOn, per-step status", async () => {
	const { BatchRequestContent, BatchResponseContent } = graph;
	const content = new BatchRequestContent([
		{ id: "1", request: new Request(`${base}/v1.0/users/${users.fred}?$select=id,usageLocation`, { method: "GET" }) },
		{
			id: "2",
			dependsOn: ["1"],
			request: new Request(`${base}/v1.0/users/${users.fred}`, {
				method: "PATCH",
				body: JSON.stringify({ jobTitle: "Batch runner" }),
				headers: { "Content-Type": "application/json" },
			}),
		},
		// The client accepts only a chain of dependencies (or none, or all on one).
		{ id: "3", dependsOn: ["2"], request: new Request(`${base}/v1.0/users/00000000-0000-0000-0000-000000000001`, { method: "GET" }) },
	]);
	const res = new BatchResponseContent(await client.api("/$batch").post(await content.getContent()));
	const r1 = res.getResponseById("1");
	const r2 = res.getResponseById("2");
	const r3 = res.getResponseById("3");
	check(r1 && r1.status === 200 && (await r1.json()).id === users.fred, "step 1 reads fred", r1 && r1.status);
	check(r2 && r2.status === 204, "step 2 patches fred", r2 && r2.status);
	check(r3 && r3.status === 404, "step 3 is a 404 of its own", r3 && r3.status);
	const u = await client.api(`/users/${users.fred}`).select(["jobTitle"]).get();
	check(u.jobTitle === "Batch runner", "the batched PATCH took effect", u);
});

await step("GET /users/delta: a full round, then only what changed, with @removed", async () => {
	const temp = (await client.api("/users").post({ displayName: "delta temp", userPrincipalName: `delta-temp-${run}@contoso.example`, accountEnabled: true })).id;
	let link = "/users/delta?$select=displayName,jobTitle";
	let seen = 0;
	let deltaLink;
	for (let pages = 0; !deltaLink; pages++) {
		check(pages < 100, "the initial round ends");
		const page = await client.api(link).get();
		seen += page.value.length;
		deltaLink = page["@odata.deltaLink"];
		link = page["@odata.nextLink"];
		check(deltaLink || link, "a page links on", page);
	}
	check(seen >= BIG, "the initial round lists every user", seen);
	await client.api(`/users/${users.erin}`).patch({ jobTitle: "Delta watcher" });
	await client.api(`/users/${temp}`).delete();
	const changes = [];
	for (link = deltaLink, deltaLink = undefined; !deltaLink; ) {
		const page = await client.api(link).get();
		changes.push(...page.value);
		deltaLink = page["@odata.deltaLink"];
		link = page["@odata.nextLink"];
	}
	const erin = changes.find((c) => c.id === users.erin);
	const gone = changes.find((c) => c.id === temp);
	check(erin && erin.jobTitle === "Delta watcher", "the changed user, with its selected properties", changes);
	check(gone && gone["@removed"] && gone["@removed"].reason, "the deleted user, @removed", changes);
});

await step("Client.init with a callback authProvider", async () => {
	const legacy = Client.init({ authProvider: (done) => done(null, token), baseUrl: base + "/", defaultVersion: "v1.0", customHosts: new Set([new URL(base).hostname]) });
	const res = await legacy.api("/subscribedSkus").get();
	check(res.value.length === 3, "the same SKUs through Client.init", res.value.length);
});

await step("without customHosts the client withholds the token", async () => {
	const bare = Client.initWithMiddleware({ authProvider: { getAccessToken: async () => token }, baseUrl: base + "/", defaultVersion: "v1.0" });
	const e = await graphError(bare.api("/subscribedSkus").get());
	check(e instanceof GraphError && e.statusCode === 401, "the server sees no token: 401", { status: e.statusCode, code: e.code });
});

console.log(`${run}: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
