// JSON shapes shared by the server side of the UI and the browser script (types only: the client
// imports them with `import type`, so nothing of this file reaches the browser).

/** One family of a group, as listed without its series. */
export interface FamilySummary {
  name: string;
  /** COUNTER, GAUGE, SUMMARY, UNTYPED, HISTOGRAM or GAUGE_HISTOGRAM, as /api/v1/metrics spells them. */
  type: string;
  help: string;
  /** Number of series (metrics) of the family. */
  series: number;
}

/** A group as listed by GET /api/v1/groups. */
export interface GroupSummary {
  /** The group's key, URL-safe (base64url of its bytes); `?group=<id>` answers the group with its series. */
  id: string;
  /** The group's path below the route prefix with every value @base64 (so any value works): DELETE deletes the group. */
  path: string;
  /** Grouping labels, `job` included, sorted by name. */
  labels: Record<string, string>;
  /** push_time_seconds in epoch milliseconds; null when no push ever succeeded. */
  lastPushMs: number | null;
  /** push_failure_time_seconds in epoch milliseconds; null when no push ever failed. */
  lastFailureMs: number | null;
  /** False when the last push to the group failed (last_push_successful of /api/v1/metrics). */
  success: boolean;
  /** Why the last push failed, when it did and the gateway still knows (not after a restart). */
  failureReason?: string;
  /** Pushed families, sorted by name; push_time_seconds and push_failure_time_seconds left out. */
  families: FamilySummary[];
  /** Series of those families. */
  series: number;
  /** False when the signed-in credential may not delete the group (web config `authorization`). */
  deletable?: false;
  /** When the group expires (docs/expiry.md), epoch milliseconds; absent when it never does. */
  expiresMs?: number;
}

/** `data` of GET /api/v1/groups. */
export interface GroupsPage {
  /** Groups stored. */
  total: number;
  /** Groups whose last push failed, among all stored. */
  failed: number;
  /** Groups matching the filter. */
  matched: number;
  offset: number;
  limit: number;
  /** The server's clock when answering, epoch milliseconds (the browser corrects relative times with it). */
  nowMs: number;
  groups: GroupSummary[];
  /** Groups that have a deadline (docs/expiry.md), among all stored: the page offers its expiry controls when > 0. */
  withDeadline: number;
  /** When the filter is a selector (`{job="batch"}`): the selector, and how many groups it matches by itself. */
  selector?: { text: string; matched: number };
  /** Why the filter matches nothing: it starts with `{` but is not a valid selector. */
  filterError?: string;
}

/** What the page hands its script, as JSON in <script id="pg-data">. */
export interface PageData {
  /** Path prefix of every link, as the browser sees the gateway: '' or '/pfx'. */
  base: string;
  /** Whether PUT /api/v1/admin/wipe is enabled and allowed to the credential ("delete all"). */
  admin: boolean;
  /** The signed-in credential (`user "alice"`), when the web config file asks for credentials. */
  credential?: string;
  query: PageQuery;
  /** The first page, so the browser needs no second round trip. */
  initial: GroupsPage;
}

export interface PageQuery {
  /** Words (see filterTerms in groups.ts), or, when it starts with `{`, a selector of grouping labels. */
  filter: string;
  failedOnly: boolean;
  /** Only groups that have a deadline. */
  expiringOnly: boolean;
  /** `key`: by job, then grouping key (the default); `expiry`: the earliest deadline first, groups without one last. */
  sort: 'key' | 'expiry';
  offset: number;
  limit: number;
}
