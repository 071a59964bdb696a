/**
 * Local EventBridge schedules: the template's enabled `AWS::Events::Rule`s with a `rate(...)` schedule run their
 * Lambda targets on the same cadence, with the scheduled-event payload EventBridge sends. A run never overlaps a
 * still-running run of the same rule (that tick is skipped), and a failure is logged, never fatal.
 */
import { randomUUID } from 'node:crypto';
import { type CfnTemplate, type LocalResourceNames, resolveIntrinsics, resourcesOfType } from './cfn';

const UNIT_MS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;

/**
 * Milliseconds between runs of an EventBridge `rate(value unit)` expression, spelled as EventBridge requires:
 * a positive whole value, the unit singular for 1 (`rate(1 hour)`) and plural otherwise (`rate(5 minutes)`).
 * Throws on anything else, `cron(...)` included: local mode runs only rate schedules.
 */
export function parseRateExpression(expression: string): number {
  const match = /^rate\(([1-9]\d*) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (!match) {
    throw new Error(`schedule expression "${expression}" is not supported in local mode: only rate(N minute|minutes|hour|hours|day|days) is`);
  }
  const value = Number(match[1]);
  const unit = match[2]!;
  const plural = unit.endsWith('s');
  if (!Number.isSafeInteger(value) || (value === 1) === plural) {
    throw new Error(`schedule expression "${expression}" is invalid: write rate(1 ${unit.replace(/s$/, '')}) or rate(N ${unit.replace(/s?$/, 's')})`);
  }
  return value * UNIT_MS[unit.replace(/s$/, '') as keyof typeof UNIT_MS];
}

export interface ScheduledTarget {
  /** Logical id of the Lambda function. */
  readonly functionId: string;
  /** The target's constant `Input`, sent instead of the scheduled event when the template sets one. */
  readonly input?: unknown;
}

export interface ScheduledRule {
  /** Logical id of the rule. */
  readonly ruleId: string;
  readonly ruleArn: string;
  readonly expression: string;
  readonly everyMs: number;
  readonly targets: readonly ScheduledTarget[];
}

/**
 * Reads the enabled scheduled rules of a template and the local functions they target. Throws, naming the rule, on a
 * schedule or a target local mode cannot run; rules driven by event patterns are skipped (no events flow locally).
 */
export function schedulesFromTemplate(
  template: CfnTemplate,
  names: LocalResourceNames,
  functionIdOfArn: (arn: string) => string,
  where: { readonly region: string; readonly account: string },
): ScheduledRule[] {
  const rules: ScheduledRule[] = [];
  for (const [ruleId, rule] of resourcesOfType(template, 'AWS::Events::Rule')) {
    const props = rule.Properties ?? {};
    if (props.State !== undefined && props.State !== 'ENABLED') continue;
    if (props.ScheduleExpression === undefined) continue;
    const fail = (why: string): never => {
      throw new Error(`scheduled rule ${ruleId}: ${why}`);
    };
    let everyMs = 0;
    const expression = String(props.ScheduleExpression);
    try {
      everyMs = parseRateExpression(expression);
    } catch (err) {
      fail((err as Error).message);
    }
    const targets = ((props.Targets ?? []) as Array<Record<string, unknown>>).map((target, i): ScheduledTarget => {
      if (target.InputPath !== undefined || target.InputTransformer !== undefined)
        fail(`target ${i}: InputPath and InputTransformer are not supported in local mode`);
      let functionId = '';
      try {
        functionId = functionIdOfArn(String(resolveIntrinsics(target.Arn, names, `${ruleId}.Targets[${i}].Arn`)));
      } catch (err) {
        fail(`target ${i} is not a local function (${(err as Error).message})`);
      }
      if (target.Input === undefined) return { functionId };
      try {
        return { functionId, input: JSON.parse(String(resolveIntrinsics(target.Input, names, `${ruleId}.Targets[${i}].Input`))) as unknown };
      } catch (err) {
        return fail(`target ${i}: Input is not JSON (${(err as Error).message})`);
      }
    });
    const ruleArn = `arn:aws:events:${where.region}:${where.account}:rule/${ruleId}`;
    rules.push({ ruleId, ruleArn, expression, everyMs, targets });
  }
  return rules;
}

/** The outcome of one target's run. */
export interface ScheduleRun {
  readonly rule: string;
  readonly function: string;
  readonly ok: boolean;
  readonly error?: string;
}

export interface LocalSchedulesOptions {
  readonly rules: readonly ScheduledRule[];
  readonly invoke: (functionId: string, event: unknown) => Promise<unknown>;
  readonly log: { error(message: string): void };
  readonly region: string;
  readonly account: string;
}

/** setTimeout's longest delay; longer waits (rate(30 days)) are reached in steps. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

export class LocalSchedules {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly running = new Map<string, Promise<ScheduleRun[]>>();
  private stopped = false;

  constructor(private readonly options: LocalSchedulesOptions) {}

  /**
   * Starts one timer per rule. The first run comes one period from now, as after a deploy, or sooner when
   * `firstRunWithinMs` says so: a laptop's local mode was off for a while, and its checkpoints should catch up.
   */
  start(firstRunWithinMs = Infinity): void {
    for (const rule of this.options.rules) this.arm(rule, Date.now() + Math.min(rule.everyMs, firstRunWithinMs));
  }

  /** Stops the timers; runs in flight finish (the runtime drains them). */
  stop(): void {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  /** Runs every rule's targets once now, rule after rule, each after its running tick (if any) has finished. */
  async runAll(): Promise<ScheduleRun[]> {
    const ran: ScheduleRun[] = [];
    for (const rule of this.options.rules) {
      for (let busy = this.running.get(rule.ruleId); busy; busy = this.running.get(rule.ruleId)) await busy;
      ran.push(...(await this.run(rule)));
    }
    return ran;
  }

  private arm(rule: ScheduledRule, dueAt: number): void {
    if (this.stopped) return;
    const timer = setTimeout(
      () => {
        const now = Date.now();
        if (now < dueAt) return this.arm(rule, dueAt);
        // A skipped or late tick is not made up for, as EventBridge does not.
        this.arm(rule, Math.max(dueAt + rule.everyMs, now + 1));
        if (!this.running.has(rule.ruleId)) void this.run(rule);
      },
      Math.min(Math.max(0, dueAt - Date.now()), MAX_TIMEOUT_MS),
    );
    timer.unref();
    this.timers.set(rule.ruleId, timer);
  }

  private run(rule: ScheduledRule): Promise<ScheduleRun[]> {
    const running = (async () => {
      const results: ScheduleRun[] = [];
      for (const target of rule.targets) {
        try {
          await this.options.invoke(target.functionId, target.input !== undefined ? target.input : this.scheduledEvent(rule));
          results.push({ rule: rule.ruleId, function: target.functionId, ok: true });
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          this.options.log.error(`countersign: scheduled rule ${rule.ruleId} failed in ${target.functionId}: ${message}`);
          results.push({ rule: rule.ruleId, function: target.functionId, ok: false, error: message });
        }
      }
      return results;
    })();
    this.running.set(rule.ruleId, running);
    void running.finally(() => {
      if (this.running.get(rule.ruleId) === running) this.running.delete(rule.ruleId);
    });
    return running;
  }

  /** What EventBridge sends a target of a scheduled rule. */
  private scheduledEvent(rule: ScheduledRule) {
    return {
      version: '0',
      id: randomUUID(),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: this.options.account,
      time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: this.options.region,
      resources: [rule.ruleArn],
      detail: {},
    };
  }
}
