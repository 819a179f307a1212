// Every model, for the connection to build their indexes before the first write.
import { Account } from "./account.ts";
import { DailyPathUsage } from "./daily-path-usage.ts";
import { DailyUsage } from "./daily-usage.ts";
import { Domain } from "./domain.ts";
import { RequestLogBucket } from "./request-log.ts";
import { Tenant } from "./tenant.ts";

export { Account, DailyPathUsage, DailyUsage, Domain, RequestLogBucket, Tenant };
export const allModels = [Tenant, Account, Domain, DailyUsage, DailyPathUsage, RequestLogBucket];
