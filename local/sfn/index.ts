/** Local AWS Step Functions: an ASL interpreter behind the Step Functions API, persisted under `${dataDir}/sfn/`. */

export { type Definition, validateDefinition } from './asl';
export type { LambdaInvoker } from './engine';
export { LocalStepFunctions, type LocalStepFunctionsOptions } from './server';
