export { planTopology } from "./plan-topology";
export type {
  DuplicateRisk,
  PairPlan,
  PairStatus,
  PlanCycle,
  PlanFinding,
  PlanFindingCode,
  PlanLink,
  PlanLinkOptions,
  PlanRoute,
  PlanScope,
  PlanSeverity,
  PlanSummary,
  PlanVertex,
  SinglePointOfFailure,
  TopologyPlan,
  TtlShortfall,
} from "./plan-types";
