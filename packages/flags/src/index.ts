export { SCENARIOS, scenario, type Scenario, type ScenarioName } from "./scenarios.js";
export {
  FLAG_FILE_ENV,
  demoFlagFile,
  faultStates,
  formatFlagFile,
  offDefinition,
  parseFlagFile,
  readFlagFile,
  switchFault,
  writeFlagFile,
  type FaultState,
  type FlagDefinition,
  type FlagFile,
} from "./file.js";
export { FAULT_NAME_ATTRIBUTE, FAULT_VALUE_ATTRIBUTE, faultAttributes, markFault, startFaults, type FaultLogger, type Faults } from "./faults.js";
