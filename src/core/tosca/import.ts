// Importing a TOSCA service template of the Deployer's profile (./profile.ts): one Deploy
// request per application, dependencies first, each validated by the request schema itself.
// Every problem is named by its place in the template, with its line and column there, so a
// person can fix the template rather than guess at the requests made from it.
// Pure: the yaml package reads text only (eslint.config.mjs lets this folder use it).
import { isMap, isScalar, isSeq, LineCounter, parse as parseYaml, parseDocument, type Document } from 'yaml';
import { reasonOf, toIssue, type Issue } from '../issues';
import { applicationNameSchema, deployRequestSchema, deploymentIdSchema, nodeIdSchema, type DeployRequest } from '../schemas/request';
import {
  APPLICATION_PROPERTIES,
  DEFINITIONS_VERSIONS,
  DEPLOYMENT_ID_KEY,
  GET_INPUT,
  INPUT_KEYS,
  INPUT_TYPES,
  NODE_PROPERTIES,
  NODE_TEMPLATE_KEYS,
  NODE_TYPES,
  REQUIREMENTS,
  TEMPLATE_KEYS,
  TOPOLOGY_KEYS,
  type InputType,
} from './profile';

export interface ImportOptions {
  /** Values of the template's inputs, by name; a string is read as the input's declared type says (the CLI's --input). */
  inputs?: Record<string, unknown>;
  /** Used in place of metadata.deploymentId (the CLI's --id). */
  deploymentId?: string;
  /** Makes a build context absolute before the request is validated (the CLI: relative to the template's file). */
  resolveContext?: (context: string) => string;
  /** More checks of each valid request (the bridge's, against the inventory); their issues are named in the template too. */
  check?: (request: DeployRequest) => Issue[];
}

export type Imported = { ok: true; requests: DeployRequest[] } | { ok: false; reason: string; issues: Issue[] };

type Path = (string | number)[];

const TEMPLATES: Path = ['topology_template', 'node_templates'];
const INPUTS: Path = ['topology_template', 'inputs'];

const TYPE_NAMES = Object.values(NODE_TYPES);
/** What TOSCA reads as a function call: a map of one key such as get_property, concat or (TOSCA 2.0) $anything. */
const FUNCTION = /^(\$[A-Za-z_]\w*|get_[a-z_]+|concat|join|token)$/;
const PROPERTY_HINTS: Record<string, string> = {
  kind: 'every application is a Deploy',
  deploymentId: `its deploymentId is metadata.${DEPLOYMENT_ID_KEY} and its name`,
  nodes: `its nodes are ${REQUIREMENTS.host} requirements`,
  dependsOn: `what it depends on are ${REQUIREMENTS.dependency} requirements`,
};

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const either = (names: readonly string[]) => (names.length > 1 ? `${names.slice(0, -1).join(', ')} or ${names.at(-1)}` : names.join(''));
const all = (names: readonly string[]) => (names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names.at(-1)}` : names.join(''));

/**
 * Whether `text` (YAML or JSON) is a service template rather than a request: a top-level
 * `tosca_definitions_version`. Cheap, so that entry points can ask before they parse.
 */
export function isServiceTemplate(text: string): boolean {
  if (/^\s*\{/.test(text)) {
    try {
      const value: unknown = JSON.parse(text);
      return isRecord(value) && Object.hasOwn(value, 'tosca_definitions_version');
    } catch {
      // Not JSON: a YAML flow map, looked for below.
    }
  }
  return TEMPLATE_START.test(text);
}

/**
 * The version key at a line's start, or first in a flow map whose `{` opens a line. No
 * multi-line flag: with one, a leading \s* that may cross line ends is tried again from every
 * line's start, quadratic in the number of lines (1 MiB of newlines held the bridge for
 * minutes). Here each try starts at a newline and crosses line ends only after a `{`: linear.
 */
const TEMPLATE_START = /(?:^|\n)(?:[^\S\n]*\{\s*)?["']?tosca_definitions_version["']?[ \t]*:/;

export function importServiceTemplate(text: string, opts: ImportOptions = {}): Imported {
  const lines = new LineCounter();
  // prettyErrors would quote the text around each error, at a cost that grows with the nesting of a hostile template.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, logLevel: 'silent' });
  const fail = (issues: Issue[]): Imported => ({ ok: false, reason: reasonOf(issues), issues });
  if (doc.errors.length > 0) {
    return fail(doc.errors.map((e) => ({ path: [], message: `the template is not valid YAML: ${e.message}`, ...position(lines, e.pos[0]) })));
  }
  let root: unknown;
  try {
    root = doc.toJS();
  } catch (err) {
    return fail([{ path: [], message: `the template cannot be read: ${(err as Error).message}` }]);
  }
  const importer = new Importer(doc, lines, opts);
  const requests = importer.run(root);
  return importer.issues.length > 0 ? fail(importer.issues) : { ok: true, requests };
}

function position(lines: LineCounter, offset: number | undefined): { line?: number; column?: number } {
  if (offset === undefined) return {};
  const { line, col } = lines.linePos(offset);
  return { line, column: col };
}

interface Requirement {
  target: string;
  /** Where the target is named: the issues of the request's `nodes[i]` or `dependsOn[i]` land here. */
  path: Path;
}

interface Application {
  template: string;
  path: Path;
  name: string;
  properties: Record<string, unknown>;
  hosts: Requirement[];
  dependencies: Requirement[];
}

/** One import: the problems found so far, and what the template declares, for the requirements and get_inputs that name it. */
class Importer {
  readonly issues: Issue[] = [];
  private readonly kinds = new Map<string, string>();
  /** Templates already reported as unreadable: a requirement naming one says nothing more. */
  private readonly broken = new Set<string>();
  private readonly nodeIds = new Map<string, string>();
  private readonly declaredInputs = new Set<string>();
  private readonly inputValues = new Map<string, unknown>();

  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
    private readonly opts: ImportOptions,
  ) {}

  run(root: unknown): DeployRequest[] {
    if (!isRecord(root)) {
      this.problem([], `a service template is a YAML map with ${all(TEMPLATE_KEYS.filter((k) => k !== 'description'))}`);
      return [];
    }
    this.topLevel(root);
    const deploymentId = this.deploymentId(root.metadata);
    const topology = root.topology_template;
    if (!isRecord(topology)) {
      this.problem(['topology_template'], 'must be a map holding node_templates');
      return [];
    }
    this.knownKeys(topology, ['topology_template'], TOPOLOGY_KEYS, "the profile's topology_template has");
    this.inputs(topology.inputs);
    const applications = this.templates(topology.node_templates);
    const ordered = this.inDependencyOrder(applications);
    if (this.issues.length > 0 || deploymentId === undefined) return [];
    return ordered.flatMap((app) => this.request(app, deploymentId, applications));
  }

  private topLevel(root: Record<string, unknown>): void {
    for (const key of Object.keys(root)) {
      if (key === 'imports') this.problem([key], `imports are not supported: the Deployer's profile (${all(TYPE_NAMES)}) is built in`, true);
      else if (!(TEMPLATE_KEYS as readonly string[]).includes(key)) this.problem([key], `unknown key "${key}": a service template of the Deployer's profile has ${all(TEMPLATE_KEYS)}`, true);
    }
    if (!(DEFINITIONS_VERSIONS as readonly unknown[]).includes(root.tosca_definitions_version)) {
      this.problem(['tosca_definitions_version'], `must be ${either(DEFINITIONS_VERSIONS)}`);
    }
  }

  private deploymentId(metadata: unknown): string | undefined {
    const id = this.opts.deploymentId ?? (isRecord(metadata) ? metadata[DEPLOYMENT_ID_KEY] : undefined);
    if (id === undefined) {
      this.problem(['metadata', DEPLOYMENT_ID_KEY], "is required: the id of the template's deployments (each application's is <it>.<application name>)");
      return undefined;
    }
    const parsed = deploymentIdSchema.safeParse(id);
    if (!parsed.success) this.problem(['metadata', DEPLOYMENT_ID_KEY], parsed.error.issues[0]!.message);
    return parsed.data;
  }

  /** Each input's value: the caller's (read as its type says) or its default. */
  private inputs(definitions: unknown): void {
    const given = this.opts.inputs ?? {};
    if (definitions !== undefined && !isRecord(definitions)) {
      this.problem(INPUTS, 'must be a map of input definitions, such as port: { type: integer, default: 8080 }');
      return;
    }
    const declared = definitions ?? {};
    for (const name of Object.keys(given)) {
      if (!Object.hasOwn(declared, name)) {
        const names = Object.keys(declared);
        this.problem(INPUTS, `a value is given for input "${name}", which the template does not declare (it declares ${names.length > 0 ? all(names) : 'none'})`, true);
      }
    }
    for (const [name, definition] of Object.entries(declared)) {
      const path = [...INPUTS, name];
      this.declaredInputs.add(name);
      if (!isRecord(definition)) {
        this.problem(path, 'must be an input definition, such as { type: string, default: hello }');
        continue;
      }
      this.knownKeys(definition, path, INPUT_KEYS, 'an input of the profile has');
      const type = definition.type;
      if (type !== undefined && !(INPUT_TYPES as readonly unknown[]).includes(type)) {
        this.problem([...path, 'type'], `must be ${either(INPUT_TYPES)}`);
        continue;
      }
      const fromCaller = Object.hasOwn(given, name);
      if (!fromCaller && !Object.hasOwn(definition, 'default')) {
        this.problem(path, `input "${name}" has no default, and no value was given for it`, true);
        continue;
      }
      const value = fromCaller ? readAs(type as InputType | undefined, given[name]) : definition.default;
      if (type !== undefined && !hasType(type as InputType, value)) {
        const what = `must be ${article(type as InputType)}, not ${JSON.stringify(value)}`;
        if (fromCaller) this.problem(path, `the value given for input "${name}" ${what}`, true);
        else this.problem([...path, 'default'], what);
        continue;
      }
      this.inputValues.set(name, value);
    }
  }

  /** Every node template: nodes first (applications name them), then the applications, in template order. */
  private templates(templates: unknown): Application[] {
    if (!isRecord(templates) || Object.keys(templates).length === 0) {
      this.problem(TEMPLATES, `must be a map of node templates, at least one ${NODE_TYPES.application} among them`);
      return [];
    }
    const valid: [string, Record<string, unknown>][] = [];
    for (const [name, template] of Object.entries(templates)) {
      const path = [...TEMPLATES, name];
      if (!isRecord(template)) {
        this.problem(path, `must be a map with a type (${either(TYPE_NAMES)})`);
        this.broken.add(name);
        continue;
      }
      this.knownKeys(template, path, NODE_TEMPLATE_KEYS, 'a node template of the profile has');
      const type = template.type;
      if (!(TYPE_NAMES as readonly unknown[]).includes(type)) {
        this.problem([...path, 'type'], type === undefined ? `is required: ${either(TYPE_NAMES)}` : `unknown node type ${JSON.stringify(type)}: the profile's node types are ${all(TYPE_NAMES)}`);
        this.broken.add(name);
        continue;
      }
      this.kinds.set(name, type as string);
      valid.push([name, template]);
    }
    for (const [name, template] of valid) if (template.type === NODE_TYPES.node) this.node(name, template);
    const applications = valid.flatMap(([name, template]) => (template.type === NODE_TYPES.application ? this.application(name, template) : []));
    if (valid.length > 0 && !valid.some(([, t]) => t.type === NODE_TYPES.application)) this.problem(TEMPLATES, `holds no ${NODE_TYPES.application}: there is nothing to deploy`);
    return applications;
  }

  private node(name: string, template: Record<string, unknown>): void {
    const path = [...TEMPLATES, name];
    const properties = this.properties(template.properties, path, NODE_PROPERTIES, `a ${NODE_TYPES.node} has the property id`);
    if (template.requirements !== undefined) this.problem([...path, 'requirements'], `a ${NODE_TYPES.node} has no requirements`, true);
    const id = properties.id ?? name;
    const parsed = nodeIdSchema.safeParse(id);
    if (!parsed.success) {
      const message = parsed.error.issues[0]!.message;
      if (properties.id !== undefined) this.problem([...path, 'properties', 'id'], message);
      else this.problem(path, `node template name "${name}" is not a valid node id (it ${message}): rename the template or set properties.id`, true);
      return;
    }
    const other = [...this.nodeIds].find(([, nodeId]) => nodeId === parsed.data)?.[0];
    if (other !== undefined) this.problem(properties.id !== undefined ? [...path, 'properties', 'id'] : path, `node id "${parsed.data}" is also the id of node template "${other}"`, properties.id === undefined);
    else this.nodeIds.set(name, parsed.data);
  }

  private application(template: string, body: Record<string, unknown>): Application[] {
    const path = [...TEMPLATES, template];
    const hint = (key: string) => (PROPERTY_HINTS[key] ? ` (${PROPERTY_HINTS[key]})` : '');
    const properties = this.properties(body.properties, path, APPLICATION_PROPERTIES, `an application's properties are ${all(APPLICATION_PROPERTIES)}`, hint);
    const given = isRecord(properties.application) ? properties.application.name : undefined;
    let name: string;
    if (given !== undefined) name = given as string;
    else {
      const parsed = applicationNameSchema.safeParse(template);
      if (!parsed.success) {
        this.problem(path, `node template name "${template}" is not a valid application name (it ${parsed.error.issues[0]!.message}): rename the template or set properties.application.name`, true);
        return [];
      }
      name = parsed.data;
    }
    const hosts: Requirement[] = [];
    const dependencies: Requirement[] = [];
    const requirements = body.requirements ?? [];
    if (!Array.isArray(requirements)) {
      this.problem([...path, 'requirements'], `must be a list such as - ${REQUIREMENTS.host}: fog-1`);
      return [];
    }
    requirements.forEach((requirement: unknown, i) => {
      const at = [...path, 'requirements', i];
      const [entry, ...more] = isRecord(requirement) ? Object.entries(requirement) : [];
      if (entry === undefined || more.length > 0) {
        this.problem(at, `a requirement is a map of one name to a node template, such as ${REQUIREMENTS.host}: fog-1`);
        return;
      }
      const [kind, value] = entry;
      if (kind !== REQUIREMENTS.host && kind !== REQUIREMENTS.dependency) {
        this.problem([...at, kind], `unknown requirement "${kind}": an application's requirements are ${all(Object.values(REQUIREMENTS))}`, true);
        return;
      }
      const target = this.target(value, [...at, kind], kind === REQUIREMENTS.host ? NODE_TYPES.node : NODE_TYPES.application);
      if (target !== undefined) (kind === REQUIREMENTS.host ? hosts : dependencies).push(target);
    });
    if (hosts.length === 0 && requirements.length === hosts.length + dependencies.length) {
      this.problem(path, `an application needs at least one ${REQUIREMENTS.host} requirement, such as - ${REQUIREMENTS.host}: fog-1`, true);
    }
    return [{ template, path, name, properties, hosts, dependencies }];
  }

  /** The node template a requirement names, as `host: fog-1` or `host: { node: fog-1 }`, if it is of the type it must be. */
  private target(value: unknown, path: Path, type: string): Requirement | undefined {
    const extended = isRecord(value) && Object.keys(value).length === 1 && typeof value.node === 'string';
    const name = extended ? (value.node as string) : value;
    const at = extended ? [...path, 'node'] : path;
    if (typeof name !== 'string') {
      this.problem(path, `must name a node template, as ${path.at(-1)}: name or ${path.at(-1)}: { node: name }`);
      return undefined;
    }
    const kind = this.kinds.get(name);
    if (this.broken.has(name)) return undefined;
    if (kind === undefined) this.problem(at, `there is no node template "${name}"`);
    else if (kind !== type) this.problem(at, `must name a ${type} template; "${name}" is a ${kind}`);
    else return { target: name, path: at };
    return undefined;
  }

  /** A template's properties, only the names its type has, with every get_input replaced by the input's value. */
  private properties(value: unknown, templatePath: Path, names: readonly string[], known: string, hint: (key: string) => string = () => ''): Record<string, unknown> {
    const path = [...templatePath, 'properties'];
    if (value === undefined) return {};
    if (!isRecord(value)) {
      this.problem(path, 'must be a map');
      return {};
    }
    for (const key of Object.keys(value)) {
      if (!names.includes(key)) this.problem([...path, key], `unknown property "${key}": ${known}${hint(key)}`, true);
    }
    return this.resolve(value, path) as Record<string, unknown>;
  }

  private resolve(value: unknown, path: Path): unknown {
    if (Array.isArray(value)) return value.map((v, i) => this.resolve(v, [...path, i]));
    if (!isRecord(value)) return value;
    const keys = Object.keys(value);
    const fn = keys.length === 1 && FUNCTION.test(keys[0]!) ? keys[0]! : undefined;
    if (fn === undefined) return Object.fromEntries(keys.map((k) => [k, this.resolve(value[k], [...path, k])]));
    const name = value[fn];
    if (!(GET_INPUT as readonly string[]).includes(fn)) this.problem([...path, fn], `function ${fn} is not supported: the profile supports ${GET_INPUT[0]} only`, true);
    else if (typeof name !== 'string') this.problem([...path, fn], `must name an input, as ${fn}: port`);
    else if (!this.declaredInputs.has(name)) this.problem([...path, fn], `names input "${name}", which topology_template.inputs does not declare`);
    // An input declared without a usable value was reported at its declaration, once for all its uses.
    else return this.inputValues.get(name);
    return value;
  }

  /** Dependencies first, otherwise in template order; a cycle is a problem at the requirement that closes it. */
  private inDependencyOrder(applications: Application[]): Application[] {
    const byTemplate = new Map(applications.map((a) => [a.template, a]));
    const state = new Map<string, 'visiting' | 'done'>();
    const stack: string[] = [];
    const out: Application[] = [];
    const visit = (app: Application) => {
      state.set(app.template, 'visiting');
      stack.push(app.template);
      for (const dependency of app.dependencies) {
        const next = byTemplate.get(dependency.target);
        if (next === undefined) continue;
        if (state.get(next.template) === 'visiting') {
          this.problem(dependency.path, `dependency cycle: ${[...stack.slice(stack.indexOf(next.template)), next.template].join(' → ')}`);
        } else if (!state.has(next.template)) visit(next);
      }
      stack.pop();
      state.set(app.template, 'done');
      out.push(app);
    };
    for (const app of applications) if (!state.has(app.template)) visit(app);
    const seen = new Map<string, string>();
    for (const app of applications) {
      const other = seen.get(app.name);
      if (other !== undefined) this.problem(app.path, `application "${app.name}" is also deployed by node template "${other}"`, true);
      else seen.set(app.name, app.template);
    }
    return out;
  }

  /** The application's Deploy request, validated by the request schema; every issue named in the template. */
  private request(app: Application, deploymentId: string, applications: Application[]): DeployRequest[] {
    const { application = {}, ...rest } = app.properties;
    const raw = {
      kind: 'Deploy',
      deploymentId: `${deploymentId}.${app.name}`,
      ...rest,
      application: this.applicationField(app.name, application),
      nodes: app.hosts.map((h) => this.nodeIds.get(h.target)!),
      dependsOn: app.dependencies.map((d) => applications.find((a) => a.template === d.target)!.name),
    };
    const parsed = deployRequestSchema.safeParse(raw);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const { path, message } = toIssue(issue);
        // Pointing at the first unknown key says more than pointing at the map that holds it.
        const at = issue.code === 'unrecognized_keys' ? [...path, issue.keys[0]!] : path;
        const atKey = issue.code === 'unrecognized_keys' || issue.code === 'invalid_key';
        const quoted = issue.code === 'invalid_type' && issue.expected === 'string' && typeof valueAt(raw, path) === 'number' ? ' (YAML reads 1.0 as a number: quote it, "1.0", to make it a string)' : '';
        const wrongId = path[0] === 'deploymentId' ? `the deploymentId of application "${app.name}", "${raw.deploymentId}", ` : '';
        this.problemIn(app, path, at, `${wrongId}${message}${quoted}`, atKey);
      }
      return [];
    }
    const more = this.opts.check?.(parsed.data) ?? [];
    for (const issue of more) this.problemIn(app, issue.path, issue.path, issue.message, false);
    return more.length > 0 ? [] : [parsed.data];
  }

  /** The request's application: the property, named (by default after its template), its build context made absolute as the caller says. */
  private applicationField(name: string, application: unknown): unknown {
    if (!isRecord(application)) return application;
    const { source } = application;
    const { resolveContext } = this.opts;
    const resolved = isRecord(source) && typeof source.context === 'string' && resolveContext ? { source: { ...source, context: resolveContext(source.context) } } : {};
    return { ...application, name, ...resolved };
  }

  /** An issue of the application's request, named in the template: `nodes[1]` is its second host requirement, `container` its property. */
  private problemIn(app: Application, path: Path, at: Path, message: string, key: boolean): void {
    const inTemplate = (p: Path): Path => {
      const [head, index] = p;
      if (head === 'nodes' || head === 'dependsOn') {
        const requirement = typeof index === 'number' ? (head === 'nodes' ? app.hosts : app.dependencies)[index] : undefined;
        return requirement?.path ?? [...app.path, 'requirements'];
      }
      if (head === 'deploymentId') return ['metadata', DEPLOYMENT_ID_KEY];
      if (head === undefined || head === 'kind') return app.path;
      return [...app.path, 'properties', ...p];
    };
    this.issues.push({ path: inTemplate(path), message, ...this.where(inTemplate(at), key) });
  }

  private knownKeys(map: Record<string, unknown>, path: Path, keys: readonly string[], known: string): void {
    for (const key of Object.keys(map)) if (!keys.includes(key)) this.problem([...path, key], `unknown key "${key}": ${known} ${all(keys)}`, true);
  }

  private problem(path: Path, message: string, key = false): void {
    this.issues.push({ path, message, ...this.where(path, key) });
  }

  /** The line and column of `path` in the template (of its key, with `key`), or of its nearest ancestor there when it is not. */
  private where(path: Path, key: boolean): { line?: number; column?: number } {
    let node: unknown = this.doc.contents;
    let offset = (node as { range?: number[] } | null)?.range?.[0];
    for (const [i, segment] of path.entries()) {
      let next: unknown;
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
        if (pair === undefined) break;
        const keyAt = (pair.key as { range?: number[] }).range?.[0];
        if ((key && i === path.length - 1) || pair.value === null) {
          offset = keyAt;
          break;
        }
        next = pair.value;
      } else if (isSeq(node) && typeof segment === 'number') next = node.items[segment];
      const at = (next as { range?: number[] } | undefined)?.range?.[0];
      if (at === undefined) break;
      node = next;
      offset = at;
    }
    return position(this.lines, offset);
  }
}

/** A value given as text, read as its input's type says: "8080" for an integer is 8080. */
function readAs(type: InputType | undefined, value: unknown): unknown {
  if (typeof value !== 'string' || type === undefined || type === 'string') return value;
  if (type === 'integer' && /^[+-]?\d+$/.test(value)) return Number(value);
  if (type === 'float' && /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(value)) return Number(value);
  if (type === 'boolean' && (value === 'true' || value === 'false')) return value === 'true';
  if (type === 'list' || type === 'map') {
    try {
      return parseYaml(value) as unknown;
    } catch {
      return value;
    }
  }
  return value;
}

function hasType(type: InputType, value: unknown): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return Number.isInteger(value);
    case 'float':
      return typeof value === 'number' && Number.isFinite(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'list':
      return Array.isArray(value);
    case 'map':
      return isRecord(value);
  }
}

const article = (type: InputType) => (type === 'integer' ? 'an integer' : `a ${type}`);

function valueAt(value: unknown, path: Path): unknown {
  return path.reduce<unknown>((v, k) => (v !== null && typeof v === 'object' ? (v as Record<string | number, unknown>)[k] : undefined), value);
}
