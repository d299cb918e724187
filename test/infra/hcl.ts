// Terraform files as data, and the checks `terraform validate` and a reviewer would make on them, for a
// machine that cannot download the Terraform providers (infra/README.md says what this leaves to `plan`).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parse } from '@cdktf/hcl2json';

/** One body as @cdktf/hcl2json gives it: blocks are arrays, expressions are "${...}" strings. */
type Body = Record<string, unknown>;

export interface TfModule {
  readonly dir: string;
  readonly files: string[];
  readonly variables: Map<string, Body>;
  readonly outputs: Set<string>;
  readonly locals: Map<string, unknown>;
  /** `type.name` of every resource, and `data.type.name` of every data source. */
  readonly resources: Map<string, Body>;
  readonly moduleCalls: Map<string, Body>;
  /** Every expression string of the module, with where it is. */
  readonly expressions: { where: string; text: string }[];
}

const META_ARGS = new Set(['source', 'version', 'providers', 'depends_on', 'count', 'for_each']);

function tfFilesUnder(root: string): string[] {
  return readdirSync(root).flatMap((name) => {
    const p = join(root, name);
    if (name.startsWith('.')) return [];
    if (statSync(p).isDirectory()) return tfFilesUnder(p);
    return name.endsWith('.tf') ? [p] : [];
  });
}

function collectExpressions(value: unknown, where: string, out: { where: string; text: string }[]): void {
  if (typeof value === 'string') {
    if (value.includes('${')) out.push({ where, text: value });
  } else if (Array.isArray(value)) {
    value.forEach((v) => collectExpressions(v, where, out));
  } else if (value && typeof value === 'object') {
    for (const v of Object.values(value)) collectExpressions(v, where, out);
  }
}

/** Parses every .tf file under `root` (a parse error fails with the file's name) into one model per directory. */
export async function loadModules(root: string): Promise<Map<string, TfModule>> {
  const modules = new Map<string, TfModule>();
  for (const file of tfFilesUnder(root)) {
    const dir = dirname(file);
    let m = modules.get(dir);
    if (!m) {
      m = { dir, files: [], variables: new Map(), outputs: new Set(), locals: new Map(), resources: new Map(), moduleCalls: new Map(), expressions: [] };
      modules.set(dir, m);
    }
    const rel = relative(root, file);
    const doc = (await parse(rel, readFileSync(file, 'utf8'))) as Record<string, unknown>;
    m.files.push(rel);
    for (const [name, [block]] of Object.entries((doc.variable ?? {}) as Record<string, Body[]>)) if (block) m.variables.set(name, block);
    for (const name of Object.keys(doc.output ?? {})) m.outputs.add(name);
    for (const block of (doc.locals ?? []) as Body[]) for (const [k, v] of Object.entries(block)) m.locals.set(k, v);
    for (const [type, byName] of Object.entries((doc.resource ?? {}) as Record<string, Record<string, Body[]>>)) {
      for (const [name, [block]] of Object.entries(byName)) if (block) m.resources.set(`${type}.${name}`, block);
    }
    for (const [type, byName] of Object.entries((doc.data ?? {}) as Record<string, Record<string, Body[]>>)) {
      for (const [name, [block]] of Object.entries(byName)) if (block) m.resources.set(`data.${type}.${name}`, block);
    }
    for (const [name, [block]] of Object.entries((doc.module ?? {}) as Record<string, Body[]>)) if (block) m.moduleCalls.set(name, block);
    collectExpressions(doc, rel, m.expressions);
  }
  return modules;
}

const VAR_REF = /\bvar\.([A-Za-z_][\w-]*)/g;
const LOCAL_REF = /\blocal\.([A-Za-z_][\w-]*)/g;
const MODULE_REF = /\bmodule\.([A-Za-z_][\w-]*)(?:\.([A-Za-z_][\w-]*))?/g;
const DATA_REF = /\bdata\.([a-z][a-z0-9_]*)\.([A-Za-z_][\w-]*)/g;
// A resource reference is `<provider>_<type>.<name>`, not part of a longer name or a data source's.
const RESOURCE_REF = /(?<![\w.-])((?:aws|random)_[a-z0-9_]+)\.([A-Za-z_][\w-]*)/g;

function refs(m: TfModule, re: RegExp): { where: string; groups: string[] }[] {
  return m.expressions.flatMap((e) => [...e.text.matchAll(re)].map((x) => ({ where: e.where, groups: x.slice(1) })));
}

/** What `terraform validate` reports about names: undeclared or unused variables and locals, dangling references, unknown module inputs and outputs. */
export function referenceProblems(modules: Map<string, TfModule>): string[] {
  const problems: string[] = [];
  for (const m of modules.values()) {
    const used = new Set<string>();
    for (const { where, groups: [name] } of refs(m, VAR_REF)) {
      if (name === undefined) continue;
      used.add(name);
      if (!m.variables.has(name)) problems.push(`${where}: var.${name} is not declared`);
    }
    for (const name of m.variables.keys()) if (!used.has(name)) problems.push(`${m.files[0]}: variable "${name}" is declared but never used`);

    const usedLocals = new Set<string>();
    for (const { where, groups: [name] } of refs(m, LOCAL_REF)) {
      if (name === undefined) continue;
      usedLocals.add(name);
      if (!m.locals.has(name)) problems.push(`${where}: local.${name} is not defined`);
    }
    for (const name of m.locals.keys()) if (!usedLocals.has(name)) problems.push(`${m.files[0]}: local "${name}" is never used`);

    for (const r of refs(m, RESOURCE_REF)) {
      if (!m.resources.has(`${r.groups[0]}.${r.groups[1]}`)) problems.push(`${r.where}: ${r.groups[0]}.${r.groups[1]} is not a resource of this module`);
    }
    for (const r of refs(m, DATA_REF)) {
      if (!m.resources.has(`data.${r.groups[0]}.${r.groups[1]}`)) problems.push(`${r.where}: data.${r.groups[0]}.${r.groups[1]} is not a data source of this module`);
    }

    for (const [call, body] of m.moduleCalls) {
      const target = modules.get(resolve(m.dir, String(body.source)));
      if (!target) {
        problems.push(`module "${call}": source ${String(body.source)} is not a module directory here`);
        continue;
      }
      for (const input of Object.keys(body)) {
        if (!META_ARGS.has(input) && !target.variables.has(input)) problems.push(`module "${call}": input "${input}" is not a variable of ${String(body.source)}`);
      }
      for (const [name, v] of target.variables) {
        if (!('default' in v) && !(name in body)) problems.push(`module "${call}": required input "${name}" is not given`);
      }
    }
    for (const r of refs(m, MODULE_REF)) {
      const [call, output] = r.groups;
      const body = m.moduleCalls.get(call!);
      if (!body) {
        problems.push(`${r.where}: module.${call} is not a module call here`);
        continue;
      }
      const target = modules.get(resolve(m.dir, String(body.source)));
      if (output && target && !target.outputs.has(output)) problems.push(`${r.where}: module.${call}.${output} is not an output of ${String(body.source)}`);
    }
  }
  return problems;
}

const OPEN = new Set(['0.0.0.0/0', '::/0']);

/** The CIDRs a value stands for: literals, or the default of the variable it names (directly or through for_each). */
function cidrsOf(value: unknown, m: TfModule, forEach: unknown): string[] {
  const values = Array.isArray(value) ? value : [value];
  return values.flatMap((v) => {
    if (typeof v !== 'string') return [];
    const expr = /^\$\{(.*)\}$/s.exec(v)?.[1]?.trim();
    if (expr === undefined) return [v];
    const source = expr === 'each.value' || expr === 'each.key' ? String(forEach ?? '') : v;
    return [...source.matchAll(VAR_REF)].flatMap((r) => {
      const d = r[1] === undefined ? undefined : m.variables.get(r[1])?.default;
      return Array.isArray(d) ? d.map(String) : d === undefined ? [] : [String(d)];
    });
  });
}

export interface IngressRule {
  readonly id: string;
  readonly module: TfModule;
  readonly body: Body;
  readonly cidrs: string[];
  readonly fromPort: unknown;
  readonly source: unknown;
}

/** Every ingress rule in every form the AWS provider has: standalone rules, legacy rules, inline blocks. */
export function ingressRules(modules: Map<string, TfModule>): IngressRule[] {
  const rules: IngressRule[] = [];
  for (const m of modules.values()) {
    for (const [id, body] of m.resources) {
      const type = id.split('.')[0];
      if (type === 'aws_vpc_security_group_ingress_rule') {
        rules.push({ id, module: m, body, cidrs: [...cidrsOf(body.cidr_ipv4, m, body.for_each), ...cidrsOf(body.cidr_ipv6, m, body.for_each)], fromPort: body.from_port, source: body.referenced_security_group_id });
      } else if (type === 'aws_security_group_rule' && body.type === 'ingress') {
        rules.push({ id, module: m, body, cidrs: [...cidrsOf(body.cidr_blocks, m, body.for_each), ...cidrsOf(body.ipv6_cidr_blocks, m, body.for_each)], fromPort: body.from_port, source: body.source_security_group_id });
      } else if (type === 'aws_security_group') {
        for (const block of (body.ingress ?? []) as Body[]) {
          rules.push({ id: `${id} (inline ingress)`, module: m, body: block, cidrs: [...cidrsOf(block.cidr_blocks, m, undefined), ...cidrsOf(block.ipv6_cidr_blocks, m, undefined)], fromPort: block.from_port, source: block.security_groups });
        }
      }
    }
  }
  return rules;
}

/** Ingress open to the internet anywhere but `allowed` (resource ids). */
export function openIngressProblems(modules: Map<string, TfModule>, allowed: ReadonlySet<string>): string[] {
  return ingressRules(modules)
    .filter((r) => r.cidrs.some((c) => OPEN.has(c)) && !allowed.has(r.id))
    .map((r) => `${relative(process.cwd(), r.module.dir)}: ${r.id} admits ${r.cidrs.join(', ')}`);
}

/** A command as its tokens: literals as they are, expressions as `=expr` (an array, or a `concat(...)` of arrays). */
export function commandTokens(value: unknown): string[] {
  if (Array.isArray(value)) {
    return value.map((v) => (typeof v === 'string' && v.startsWith('${') ? `=${v.slice(2, -1).trim().replace(/^tostring\((.*)\)$/, '$1')}` : String(v)));
  }
  const tokens: string[] = [];
  for (const t of String(value).matchAll(/"([^"]*)"|tostring\(([\w.]+)\)|\b((?:var|local|module)\.[\w.]+)/g)) tokens.push(t[1] ?? `=${t[2] ?? t[3]}`);
  return tokens;
}
