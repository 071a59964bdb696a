/** Local AWS Step Functions: an ASL interpreter behind the Step Functions API, persisted under `${dataDir}/sfn/`. */
export { LocalStepFunctions, type LocalStepFunctionsOptions } from './server';
export type { LambdaInvoker } from './engine';
export { validateDefinition, type Definition } from './asl';
