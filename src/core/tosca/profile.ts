// The Deployer's TOSCA profile (OASIS TOSCA Simple Profile in YAML 1.3): the names a service
// template may use. The profile is built in, so a template imports nothing: it uses these two
// node types and their requirements, and an application's properties are the fields of a
// Deploy request (src/core/schemas/request.ts), validated by the same schema.

/** The `tosca_definitions_version`s a template may declare. */
export const DEFINITIONS_VERSIONS = ['tosca_simple_yaml_1_3', 'tosca_2_0'] as const;

export const NODE_TYPES = {
  /** An application: one Deploy request each. */
  application: 'deployer.nodes.Application',
  /** A fog or cluster node of the inventory; property `id`, by default the template's name. */
  node: 'deployer.nodes.Node',
} as const;

export const REQUIREMENTS = {
  /** A deployer.nodes.Node the application runs on; one per node, in order: the request's `nodes`. */
  host: 'host',
  /** Another deployer.nodes.Application this one depends on: its name goes into `dependsOn`. */
  dependency: 'dependency',
} as const;

/**
 * An application's properties: the fields of a Deploy request that a template states as they
 * are. `kind`, `deploymentId`, `nodes` and `dependsOn` come from the template's structure.
 */
export const APPLICATION_PROPERTIES = ['application', 'container', 'healthCheck', 'verify', 'strategy', 'replicasPerNode'] as const;

export const NODE_PROPERTIES = ['id'] as const;

/** Where a template's id is: each application's deploymentId is `<it>.<application name>`. */
export const DEPLOYMENT_ID_KEY = 'deploymentId';

export const TEMPLATE_KEYS = ['tosca_definitions_version', 'description', 'metadata', 'topology_template'] as const;
export const TOPOLOGY_KEYS = ['description', 'inputs', 'node_templates'] as const;
export const NODE_TEMPLATE_KEYS = ['type', 'description', 'metadata', 'properties', 'requirements'] as const;
export const INPUT_KEYS = ['type', 'description', 'default'] as const;

/** The input types a template may declare; a value given as text (the CLI's --input) is read as its type says. */
export const INPUT_TYPES = ['string', 'integer', 'float', 'boolean', 'list', 'map'] as const;
export type InputType = (typeof INPUT_TYPES)[number];

/** The one intrinsic function the profile supports: TOSCA 1.3 spells it `get_input`, TOSCA 2.0 `$get_input`. */
export const GET_INPUT = ['get_input', '$get_input'] as const;
