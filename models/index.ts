// Every model, for the connection to build their indexes before the first write.
import { Account } from "./account";
import { Domain } from "./domain";
import { Tenant } from "./tenant";

export { Account, Domain, Tenant };
export const allModels = [Tenant, Account, Domain];
