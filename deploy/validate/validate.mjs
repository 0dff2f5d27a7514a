#!/usr/bin/env node
// validate.mjs - offline checks of the Kubernetes manifests under deploy/k8s.
//
//   node validate.mjs [DEPLOY_DIR]      (default: the folder above this one)
//
// Every YAML document must be of a kind this file knows (an unknown
// apiVersion/kind fails, it is never skipped), and passes:
//   * the schema of its kind: kubernetes-models' validation for Kubernetes
//     kinds and KEDA's ScaledObject, and the hand-written JSON schemas in
//     schemas/ (ajv) for the KEDA CRDs, with unknown fields refused;
//   * an unknown-field check of every Kubernetes object and every metadata,
//     against the field lists of @kubernetes/client-node's models (the API
//     server prunes or rejects unknown fields; kubernetes-models ignores them);
//   * per-kind checks: trigger metadata keys of ScaledObjects, and references
//     between the documents of one deployment (Service -> Deployment ports,
//     ScaledObject -> Deployment and InterceptorRoute, InterceptorRoute ->
//     Service port, volumes -> ConfigMap, probes -> container ports).
// Files named *-patch.yaml are strategic-merge patches: each is applied to the
// document it names and the result is validated. The ConfigMap's glintd.yaml
// must parse as YAML and equal DEPLOY_DIR/glintd.yaml once parsed.
//
// Prints one line per document or check, then "N passed, N failed"; exits 1
// if anything failed.

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { isDeepStrictEqual } from "node:util";

import Ajv from "ajv";
import YAML from "yaml";
import { ConfigMap, Service } from "kubernetes-models/v1";
import { Deployment } from "kubernetes-models/apps/v1";
import { ScaledObject } from "@kubernetes-models/keda/keda.sh/v1alpha1";
import * as k8s from "@kubernetes/client-node/dist/gen/models/all.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const deployDir = path.resolve(process.argv[2] ?? path.join(here, ".."));
const k8sDir = path.join(deployDir, "k8s");

// strictRequired off: `oneOf: [{required: [port]}, ...]` names properties defined beside it.
const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false });
const schema = (file) => ajv.compile(JSON.parse(fs.readFileSync(path.join(here, "schemas", file), "utf8")));

// apiVersion/kind -> how to validate it.  `type`: the client-node model whose
// field lists the unknown-field check walks (metadata only where absent).
const KINDS = {
  "v1/ConfigMap": { model: ConfigMap, type: "V1ConfigMap" },
  "v1/Service": { model: Service, type: "V1Service" },
  "apps/v1/Deployment": { model: Deployment, type: "V1Deployment", check: checkDeployment },
  "keda.sh/v1alpha1/ScaledObject": {
    model: ScaledObject,
    schema: schema("scaledobject.keda.sh-v1alpha1.json"),
    check: checkScaledObject,
  },
  "http.keda.sh/v1beta1/InterceptorRoute": {
    schema: schema("interceptorroute.http.keda.sh-v1beta1.json"),
  },
};

// Trigger metadata keys, per KEDA v2.20 (pkg/scalers/*_scaler.go) and, for
// external-push, the HTTP add-on's external scaler (v0.15).
const TRIGGERS = {
  "external-push": {
    required: ["scalerAddress", "interceptorRoute"],
    allowed: ["scalerAddress", "enableTLS", "unsafeSsl", "interceptorRoute"],
    refused: {
      httpScaledObject: "names an HTTPScaledObject (deprecated since add-on 0.14); use interceptorRoute",
    },
  },
  prometheus: {
    required: ["serverAddress", "query", "threshold"],
    allowed: [
      "serverAddress", "query", "queryParameters", "threshold", "activationThreshold", "namespace",
      "customHeaders", "ignoreNullValues", "unsafeSsl", "awsRegion", "timeout", "identityOwner", "authModes",
    ],
    numbers: ["threshold", "activationThreshold"],
    booleans: ["ignoreNullValues", "unsafeSsl"],
    urls: ["serverAddress"],
  },
};

const PRIMITIVES = new Set(["string", "number", "boolean", "Date", "any", "object", "IntOrString"]);
const isObj = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const clone = (v) => structuredClone(v);

let passed = 0;
let failed = 0;
function report(label, errors) {
  if (errors.length === 0) {
    passed++;
    console.log(`PASS ${label}`);
  } else {
    failed++;
    console.log(`FAIL ${label}`);
    for (const e of errors) console.log(`     ${e}`);
  }
}

// ---------------------------------------------------------------------------
// Unknown fields, against client-node's attributeTypeMap.

function distance(a, b) {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length][b.length];
}

function unknownField(at, key, known) {
  const best = known.map((k) => [distance(key.toLowerCase(), k.toLowerCase()), k]).sort((x, y) => x[0] - y[0])[0];
  const hint = best && best[0] <= Math.max(2, key.length / 3) ? ` (did you mean "${best[1]}"?)` : "";
  return `${at}.${key}: unknown field${hint}`;
}

function checkFields(value, type, at, out) {
  let m;
  if ((m = /^Array<(.+)>$/.exec(type))) {
    if (Array.isArray(value)) value.forEach((v, i) => checkFields(v, m[1], `${at}[${i}]`, out));
    return;
  }
  if ((m = /^\{ \[key: string\]: (.+); \}$/.exec(type))) {
    if (isObj(value)) for (const [k, v] of Object.entries(value)) checkFields(v, m[1], `${at}.${k}`, out);
    return;
  }
  const model = k8s[type];
  if (!model || typeof model.getAttributeTypeMap !== "function") {
    if (!PRIMITIVES.has(type)) out.push(`${at}: the validator has no field list for type ${type}`);
    return;
  }
  if (!isObj(value)) return; // a type error: the schema check reports it
  const fields = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  for (const [k, v] of Object.entries(value)) {
    if (!fields.has(k)) out.push(unknownField(at, k, [...fields.keys()]));
    else checkFields(v, fields.get(k), `${at}.${k}`, out);
  }
}

// ---------------------------------------------------------------------------
// One document.

function validate(doc) {
  const errors = [];
  if (!isObj(doc)) return ["not a mapping"];
  if (typeof doc.apiVersion !== "string" || typeof doc.kind !== "string")
    return ["apiVersion and kind must be strings"];
  const kind = KINDS[`${doc.apiVersion}/${doc.kind}`];
  if (!kind) return [`unknown apiVersion/kind ${doc.apiVersion} ${doc.kind}: no schema for it (add one to validate.mjs)`];
  if (kind.model) {
    try {
      new kind.model(clone(doc)).validate();
    } catch (e) {
      errors.push(...String(e.message).split(/,\s*(?=data[/.]|data\b)/).map((s) => `schema: ${s.trim()}`));
    }
  }
  if (kind.schema && !kind.schema(doc)) {
    for (const e of kind.schema.errors) {
      const extra = e.keyword === "additionalProperties" ? ` "${e.params.additionalProperty}"` : "";
      errors.push(`schema: ${e.instancePath || "/"} ${e.message}${extra}`);
    }
  }
  if (kind.type) checkFields(doc, kind.type, "", errors);
  else checkFields(doc.metadata, "V1ObjectMeta", ".metadata", errors);
  if (kind.check) kind.check(doc, errors);
  return errors;
}

// What the API server's validation adds to the OpenAPI schema, for the parts
// a patch with a misspelt container name would get wrong.
function checkDeployment(doc, errors) {
  const containers = doc.spec?.template?.spec?.containers ?? [];
  const names = new Set();
  containers.forEach((c, i) => {
    if (typeof c?.image !== "string" || c.image === "")
      errors.push(`.spec.template.spec.containers[${i}].image: required (container "${c?.name}")`);
    if (names.has(c?.name)) errors.push(`.spec.template.spec.containers[${i}].name: "${c?.name}" given twice`);
    names.add(c?.name);
  });
}

function checkScaledObject(doc, errors) {
  const spec = doc.spec ?? {};
  const min = spec.minReplicaCount ?? 0;
  const max = spec.maxReplicaCount ?? 100;
  if (Number.isInteger(min) && Number.isInteger(max) && min > max)
    errors.push(`.spec: minReplicaCount (${min}) must be <= maxReplicaCount (${max})`);
  (Array.isArray(spec.triggers) ? spec.triggers : []).forEach((t, i) => {
    const at = `.spec.triggers[${i}]`;
    const rules = TRIGGERS[t?.type];
    if (!rules) {
      errors.push(`${at}.type: no metadata rules for trigger type "${t?.type}" (add them to validate.mjs)`);
      return;
    }
    const meta = isObj(t.metadata) ? t.metadata : {};
    for (const key of Object.keys(meta)) {
      const base = key.endsWith("FromEnv") ? key.slice(0, -"FromEnv".length) : key;
      if (rules.refused?.[key]) errors.push(`${at}.metadata.${key}: ${rules.refused[key]}`);
      else if (!rules.allowed.includes(base)) errors.push(unknownField(`${at}.metadata`, key, rules.allowed));
    }
    for (const key of rules.required)
      if (!(key in meta) && !(`${key}FromEnv` in meta)) errors.push(`${at}.metadata.${key}: required`);
    for (const key of rules.numbers ?? [])
      if (key in meta && !/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(meta[key]))
        errors.push(`${at}.metadata.${key}: "${meta[key]}" is not a number`);
    for (const key of rules.booleans ?? [])
      if (key in meta && !/^(true|false)$/i.test(meta[key]))
        errors.push(`${at}.metadata.${key}: "${meta[key]}" is not true or false`);
    for (const key of rules.urls ?? [])
      if (key in meta && !/^https?:\/\/[^\s/]+/.test(meta[key]))
        errors.push(`${at}.metadata.${key}: "${meta[key]}" is not an http(s) URL`);
  });
}

// ---------------------------------------------------------------------------
// Strategic-merge patches: the subset deploy/k8s uses (maps merge, lists of
// named objects merge by their key, other lists are replaced, null deletes).

const MERGE_KEYS = {
  containers: "name", initContainers: "name", volumes: "name", env: "name",
  volumeMounts: "mountPath", imagePullSecrets: "name",
};

function merge(base, patch, at, errors) {
  if (!isObj(base) || !isObj(patch)) return clone(patch);
  const out = clone(base);
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith("$")) {
      errors.push(`${at}.${k}: patch directives are not supported by the validator`);
    } else if (v === null) {
      delete out[k];
    } else if (MERGE_KEYS[k] && Array.isArray(v) && Array.isArray(out[k])) {
      const key = MERGE_KEYS[k];
      const list = out[k].map(clone);
      for (const item of v) {
        const i = list.findIndex((b) => isObj(b) && isObj(item) && b[key] === item[key]);
        if (i >= 0) list[i] = merge(list[i], item, `${at}.${k}[${key}=${item[key]}]`, errors);
        else list.push(clone(item));
      }
      out[k] = list;
    } else {
      out[k] = isObj(v) && isObj(out[k]) ? merge(out[k], v, `${at}.${k}`, errors) : clone(v);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// References between the documents of one deployment.

function crossCheck(docs) {
  const errors = [];
  const of = (kind) => docs.filter((d) => d.doc.kind === kind);
  const named = (kind, name) => of(kind).find((d) => d.doc.metadata?.name === name);
  const matches = (selector, labels) =>
    isObj(selector) && Object.keys(selector).length > 0 &&
    Object.entries(selector).every(([k, v]) => labels?.[k] === v);
  const portsOf = (dep) => (dep.doc.spec?.template?.spec?.containers ?? []).flatMap((c) => c.ports ?? []);

  for (const dep of of("Deployment")) {
    const name = `Deployment ${dep.doc.metadata?.name}`;
    const tpl = dep.doc.spec?.template;
    if (!matches(dep.doc.spec?.selector?.matchLabels, tpl?.metadata?.labels))
      errors.push(`${name} (${dep.where}): spec.selector.matchLabels does not match the pod template's labels`);
    for (const v of tpl?.spec?.volumes ?? [])
      if (v.configMap && !named("ConfigMap", v.configMap.name))
        errors.push(`${name} (${dep.where}): volume ${v.name} names ConfigMap ${v.configMap.name}, which is not here`);
    for (const c of tpl?.spec?.containers ?? [])
      for (const probe of ["livenessProbe", "readinessProbe", "startupProbe"]) {
        const port = c[probe]?.httpGet?.port;
        if (typeof port === "string" && !(c.ports ?? []).some((p) => p.name === port))
          errors.push(`${name} (${dep.where}): ${c.name}.${probe} uses port "${port}", which the container does not name`);
      }
  }
  for (const svc of of("Service")) {
    if (svc.doc.spec?.type === "ExternalName") continue;
    const name = `Service ${svc.doc.metadata?.name}`;
    const dep = of("Deployment").find((d) => matches(svc.doc.spec?.selector, d.doc.spec?.template?.metadata?.labels));
    if (!dep) {
      errors.push(`${name} (${svc.where}): its selector matches no Deployment's pods here`);
      continue;
    }
    for (const p of svc.doc.spec?.ports ?? []) {
      const target = p.targetPort ?? p.port;
      const ok = portsOf(dep).some((cp) => (typeof target === "string" ? cp.name === target : cp.containerPort === target));
      if (!ok) errors.push(`${name} (${svc.where}): targetPort ${target} is no container port of Deployment ${dep.doc.metadata?.name}`);
    }
  }
  for (const so of of("ScaledObject")) {
    const name = `ScaledObject ${so.doc.metadata?.name}`;
    const ref = so.doc.spec?.scaleTargetRef ?? {};
    if ((ref.kind ?? "Deployment") !== "Deployment" || (ref.apiVersion ?? "apps/v1") !== "apps/v1")
      errors.push(`${name} (${so.where}): the validator knows only Deployment scale targets`);
    else if (!named("Deployment", ref.name))
      errors.push(`${name} (${so.where}): scaleTargetRef names Deployment ${ref.name}, which is not here`);
    for (const t of so.doc.spec?.triggers ?? []) {
      const ir = t.metadata?.interceptorRoute;
      if (ir !== undefined && !named("InterceptorRoute", ir))
        errors.push(`${name} (${so.where}): trigger names InterceptorRoute ${ir}, which is not here`);
    }
  }
  for (const ir of of("InterceptorRoute")) {
    const name = `InterceptorRoute ${ir.doc.metadata?.name}`;
    const target = ir.doc.spec?.target ?? {};
    const svc = named("Service", target.service);
    if (!svc) errors.push(`${name} (${ir.where}): target names Service ${target.service}, which is not here`);
    else if (!(svc.doc.spec?.ports ?? []).some((p) => (target.portName !== undefined ? p.name === target.portName : p.port === target.port)))
      errors.push(`${name} (${ir.where}): Service ${target.service} has no port ${target.portName ?? target.port}`);
  }
  return errors;
}

// ---------------------------------------------------------------------------

function yamlFiles(dir) {
  return fs.readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((e) => {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) return yamlFiles(p);
      return /\.ya?ml$/.test(e.name) ? [p] : [];
    });
}

function load(file) {
  const rel = path.relative(deployDir, file);
  const parsed = YAML.parseAllDocuments(fs.readFileSync(file, "utf8"), { uniqueKeys: true });
  const docs = [];
  const list = Array.isArray(parsed) ? parsed : [parsed];
  list.forEach((d, i) => {
    const where = `${rel}#${i + 1}`;
    if (d.errors.length) report(where, d.errors.map((e) => `yaml: ${e.message.split("\n")[0]}`));
    else if (d.contents !== null) docs.push({ where, file: rel, doc: d.toJS() });
  });
  if (list.length === 0 || (docs.length === 0 && list.every((d) => !d.errors.length))) report(rel, ["no documents"]);
  return docs;
}

const describe = (d) => `${d.doc?.apiVersion} ${d.doc?.kind} ${d.doc?.metadata?.name}`;

function main() {
  if (!fs.existsSync(k8sDir)) {
    console.error(`validate.mjs: ${k8sDir} does not exist`);
    process.exit(2);
  }
  // Sets: deploy/k8s/*.yaml, and each subfolder together with those.
  const files = yamlFiles(k8sDir);
  const docs = files.flatMap(load);
  const isPatch = (d) => /-patch\.ya?ml$/.test(d.file);
  const base = docs.filter((d) => !isPatch(d) && path.dirname(d.file) === path.relative(deployDir, k8sDir));

  for (const d of docs) {
    if (!isPatch(d)) {
      report(`${d.where} ${describe(d)}`, validate(d.doc));
      continue;
    }
    const target = base.find((b) => b.doc.apiVersion === d.doc?.apiVersion && b.doc.kind === d.doc?.kind &&
      b.doc.metadata?.name === d.doc?.metadata?.name);
    if (!target) {
      report(`${d.where} (patch) ${describe(d)}`, ["names no document in deploy/k8s/*.yaml"]);
      continue;
    }
    const errors = [];
    const merged = merge(target.doc, d.doc, "", errors);
    errors.push(...validate(merged));
    report(`${d.where} (patch of ${target.where}, merged) ${describe(d)}`, errors);
    d.merged = { where: d.where, file: d.file, doc: merged };
  }

  // The ConfigMap's glintd configuration.
  for (const cm of docs.filter((d) => d.doc?.kind === "ConfigMap" && d.doc?.data?.["glintd.yaml"] !== undefined)) {
    const errors = [];
    const text = cm.doc.data["glintd.yaml"];
    const own = YAML.parseDocument(text, { uniqueKeys: true });
    const ref = YAML.parseDocument(fs.readFileSync(path.join(deployDir, "glintd.yaml"), "utf8"), { uniqueKeys: true });
    if (own.errors.length) errors.push(...own.errors.map((e) => `yaml: ${e.message.split("\n")[0]}`));
    else if (!isObj(own.toJS())) errors.push("glintd.yaml is not a mapping");
    else if (ref.errors.length) errors.push("deploy/glintd.yaml does not parse");
    else if (!isDeepStrictEqual(own.toJS(), ref.toJS())) errors.push("differs from deploy/glintd.yaml (parsed)");
    report(`${cm.where} ConfigMap ${cm.doc.metadata?.name} data["glintd.yaml"]: parses, equals deploy/glintd.yaml`, errors);
  }

  // References, per deployment: the base alone, each subfolder with the base,
  // and the base with each patch applied.
  const dirs = [...new Set(docs.map((d) => path.dirname(d.file)))].sort();
  const baseDir = path.relative(deployDir, k8sDir);
  for (const dir of dirs) {
    const set = dir === baseDir ? base : [...base, ...docs.filter((d) => path.dirname(d.file) === dir && !isPatch(d))];
    report(`references: ${dir === baseDir ? baseDir + "/*.yaml" : `${baseDir}/*.yaml + ${dir}/`}`, crossCheck(set));
  }
  for (const p of docs.filter((d) => d.merged)) {
    const set = base.map((b) => (b.doc.kind === p.merged.doc.kind && b.doc.metadata?.name === p.merged.doc.metadata?.name ? p.merged : b));
    report(`references: ${baseDir}/*.yaml with ${p.file} applied`, crossCheck(set));
  }

  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main();
