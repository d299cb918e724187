import { compilePolicy, isAllowed, reducePolicy } from '@turnpike/edge/internals';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../processes.js';
import { nsPerOp } from './micro.js';

/**
 * Micro-benchmark of authorizer policy evaluation (a method ARN against an IAM policy's resource
 * patterns), typical policies and the adversarial shapes of test/security/policyRedos.test.ts.
 * Nanoseconds per evaluation, median of 5 runs.
 */
const ARN = 'arn:aws:execute-api:eu-west-1:123456789012:shop/prod/GET/';
const allowing = (...Resource: string[]) => compilePolicy(reducePolicy({ Statement: [{ Effect: 'Allow', Action: 'execute-api:Invoke', Resource }] }));

export async function run(): Promise<void> {
  const typical = compilePolicy(
    reducePolicy({
      Statement: [
        { Effect: 'Allow', Action: 'execute-api:Invoke', Resource: ['arn:aws:execute-api:eu-west-1:123456789012:shop/prod/GET/pets/*', 'arn:aws:execute-api:eu-west-1:123456789012:shop/prod/POST/orders'] },
        { Effect: 'Deny', Action: 'execute-api:Invoke', Resource: 'arn:aws:execute-api:eu-west-1:123456789012:shop/*/DELETE/*' },
      ],
    }),
  );
  const exact = allowing(`${ARN}pets/42`);
  const sevenStars = allowing(`${ARN}${'*a'.repeat(7)}*b`);
  const sixtyFour = allowing(`*${'a*'.repeat(64)}b*`);
  const questions = allowing(`*${'?'.repeat(32)}b*`);
  const pets = `${ARN}pets/42`;
  const long = ARN + 'a'.repeat(800);
  const longer = ARN + 'a'.repeat(8192);

  const results = {
    'typical policy (2 Allow, 1 Deny), /pets/42': nsPerOp(() => isAllowed(typical, pets)),
    'exact resource': nsPerOp(() => isAllowed(exact, pets)),
    '7 wildcards vs 800-char path (was 32 s)': nsPerOp(() => isAllowed(sevenStars, long), 20_000),
    '64 wildcards vs 8 KB path': nsPerOp(() => isAllowed(sixtyFour, longer), 2_000),
    '32 ? between stars vs 8 KB path': nsPerOp(() => isAllowed(questions, longer), 2_000),
  };
  console.log('\n== policy (ns/evaluation) ==');
  for (const [k, v] of Object.entries(results)) console.log(`${k.padEnd(52)} ${String(v).padStart(10)}`);
  mkdirSync(join(ROOT, 'loadtests/results'), { recursive: true });
  writeFileSync(join(ROOT, 'loadtests/results', `policy-${new Date().toISOString().replace(/[:.]/g, '-')}.json`), JSON.stringify(results, null, 2));
}
