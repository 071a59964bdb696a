/**
 * Just enough of CloudFormation to read the synthesized template in local mode: resolving the intrinsic functions
 * the stack uses (Ref, Fn::GetAtt, Fn::Join, Fn::Sub, pseudo parameters) against local names. Anything else fails
 * loudly, naming what it met, so local mode never runs a template it does not understand.
 */
export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}
export interface CfnTemplate {
  readonly Resources: Record<string, CfnResource>;
}

/** Local values for `Ref` and `Fn::GetAtt` on a template's resources. */
export interface LocalResourceNames {
  ref(logicalId: string): string | undefined;
  getAtt(logicalId: string, attribute: string): string | undefined;
}

export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT = '000000000000';

const PSEUDO: Record<string, string> = {
  'AWS::Partition': 'aws',
  'AWS::Region': LOCAL_REGION,
  'AWS::AccountId': LOCAL_ACCOUNT,
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::StackName': 'Countersign',
};

export class CfnResolveError extends Error {}

export function resolveIntrinsics(value: unknown, names: LocalResourceNames, where = '$'): unknown {
  if (Array.isArray(value)) return value.map((v, i) => resolveIntrinsics(v, names, `${where}[${i}]`));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  const [key, arg] = entries[0] ?? [];
  if (entries.length === 1 && key && (key === 'Ref' || key.startsWith('Fn::'))) {
    return resolveFunction(key, arg, names, where);
  }
  return Object.fromEntries(entries.map(([k, v]) => [k, resolveIntrinsics(v, names, `${where}.${k}`)]));
}

function resolveFunction(fn: string, arg: unknown, names: LocalResourceNames, where: string): string {
  const fail = (why: string): never => {
    throw new CfnResolveError(`local mode cannot resolve ${fn} at ${where}: ${why}`);
  };
  switch (fn) {
    case 'Ref': {
      const id = String(arg);
      return PSEUDO[id] ?? names.ref(id) ?? fail(`no local value for resource ${id}`);
    }
    case 'Fn::GetAtt': {
      const [id, attribute] = Array.isArray(arg) ? arg.map(String) : String(arg).split('.');
      if (!id || !attribute) return fail('expected [logicalId, attribute]');
      return names.getAtt(id, attribute) ?? fail(`no local value for ${id}.${attribute}`);
    }
    case 'Fn::Join': {
      if (!Array.isArray(arg) || arg.length !== 2 || !Array.isArray(arg[1])) return fail('expected [delimiter, [values]]');
      return (arg[1] as unknown[]).map((v, i) => String(resolveIntrinsics(v, names, `${where}[${i}]`))).join(String(arg[0]));
    }
    case 'Fn::Sub': {
      const [text, vars] = Array.isArray(arg) ? [String(arg[0]), (arg[1] ?? {}) as Record<string, unknown>] : [String(arg), {}];
      return text.replace(/\$\{([^}!][^}]*)\}/g, (_m, name: string) => {
        if (Object.hasOwn(vars, name)) return String(resolveIntrinsics(vars[name], names, `${where}.${name}`));
        const [id, attribute] = name.split('.');
        return attribute ? resolveFunction('Fn::GetAtt', [id, attribute], names, where) : resolveFunction('Ref', name, names, where);
      });
    }
    default:
      return fail('this intrinsic function is not supported in local mode');
  }
}

export function resourcesOfType(template: CfnTemplate, type: string): Array<[string, CfnResource]> {
  return Object.entries(template.Resources).filter(([, r]) => r.Type === type);
}
