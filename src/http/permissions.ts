// Permissions per credential (issue #16, docs/security.md "Permissions"): the web config file's
// `authorization` section says, for each basic-auth user and each named bearer token, which
// actions it may take and, for pushes and deletes, which groups it may touch.
//
// The guard (webconfig.ts) authenticates a request and attaches its Grant; the router (server.ts)
// checks the grant once it knows what the request does: the route and method it resolved to, and
// for a push or a delete the grouping key it parsed. So no spelling of a path (//, /./, %2e%2e,
// a trailing slash, the route prefix, HEAD, OPTIONS) reaches an action other than the one checked.
// Selectors are compiled once per load of the file; a check costs one test per matcher.
import type { IncomingMessage } from 'node:http';
import { goQuote } from '../lib/goquote.js';
import { parseSelector, SelectorError, type Selector } from '../store/selector.js';
import type { GroupingLabels } from '../store/types.js';
import { ForbiddenError } from './errors.js';

export const ACTIONS = ['read', 'push', 'delete', 'admin'] as const;
/**
 * read: scrapes, /api/v1/* reads, the UI; push: PUT and POST of a group; delete: DELETE of a
 * group; admin: wipe, delete by matchers, /-/quit.
 */
export type Action = (typeof ACTIONS)[number];

/** Who a request is: a basic-auth user, a bearer token (by its name), or nobody (open probes). */
export interface Credential {
  kind: 'user' | 'token' | 'anonymous';
  /** The user name, the token's name (`#<position>` for an unnamed token); never a secret. */
  name: string;
}

/** What a credential may do. */
export interface Rule {
  actions: ReadonlySet<Action>;
  /** Groups pushes and deletes may touch (any selector matching); undefined: every group. */
  groups: readonly Selector[] | undefined;
  /** The selectors as written, for messages and the UI. */
  groupsText: readonly string[];
}

export interface Grant {
  credential: Credential;
  rule: Rule;
}

/** Without an authorization section, every authenticated credential may do everything (as upstream). */
export const EVERYTHING: Rule = { actions: new Set(ACTIONS), groups: undefined, groupsText: [] };
const NOTHING: Rule = { actions: new Set(), groups: undefined, groupsText: [] };

/** A request let in without credentials (--web.probes-without-auth): it may only probe. */
export const ANONYMOUS: Grant = { credential: { kind: 'anonymous', name: '' }, rule: NOTHING };

/** One entry of the section as written. */
export interface RuleSpec {
  name: string;
  actions: string[];
  /** undefined when the key is absent. */
  groups: string[] | undefined;
}

/** An authorization section that cannot be used; the message says why (webconfig.ts names the file). */
export class PermissionsError extends Error {}

/** `user "alice"`, `token "ci"`: how messages and logs name a credential. */
export function credentialText(c: Credential): string {
  if (c.kind === 'anonymous') return 'a request without credentials';
  if (c.kind === 'token' && c.name.startsWith('#')) return `bearer token ${c.name}`;
  return `${c.kind} ${goQuote(c.name)}`;
}

/**
 * Checks the section against the credentials the file defines and compiles its selectors.
 * `tokenNames`: the bearer tokens' names, in order. Every credential needs an entry and every
 * entry a credential, so that a misspelt name is an error and not a user quietly refused (or let in).
 */
export function compilePermissions(
  specs: readonly RuleSpec[],
  users: Iterable<string>,
  tokenNames: readonly string[],
): Map<string, Rule> {
  const kinds = new Map<string, 'user' | 'token'>();
  for (const u of users) kinds.set(u, 'user');
  tokenNames.forEach((name, i) => {
    if (name === '')
      throw new PermissionsError(
        `bearer_tokens: token ${i + 1} has no name; with an authorization section every token needs one ` +
          '(- name: <name>, token: <token>)',
      );
    const other = kinds.get(name);
    if (other !== undefined)
      throw new PermissionsError(
        `bearer_tokens: the name ${goQuote(name)} is already ${other === 'user' ? 'a basic_auth_users user' : 'another token'}'s`,
      );
    kinds.set(name, 'token');
  });
  const rules = new Map<string, Rule>();
  for (const spec of specs) {
    const kind = kinds.get(spec.name);
    if (kind === undefined)
      throw new PermissionsError(
        `authorization: ${goQuote(spec.name)} is neither a basic_auth_users user nor the name of a bearer token`,
      );
    const who = `authorization: ${kind} ${goQuote(spec.name)}`;
    const actions = new Set<Action>();
    for (const a of spec.actions) {
      if (!(ACTIONS as readonly string[]).includes(a))
        throw new PermissionsError(`${who}: unknown action ${goQuote(a)} (one of ${ACTIONS.join(', ')})`);
      actions.add(a as Action);
    }
    let groups: Selector[] | undefined;
    if (spec.groups !== undefined) {
      if (!actions.has('push') && !actions.has('delete'))
        throw new PermissionsError(`${who}: groups limit push and delete, and its actions have neither`);
      if (spec.groups.length === 0)
        throw new PermissionsError(`${who}: groups is empty; leave it out to allow every group`);
      groups = spec.groups.map((text) => {
        try {
          return parseSelector(braced(text), true);
        } catch (e) {
          if (e instanceof SelectorError) throw new PermissionsError(`${who}: groups: ${e.message}`);
          throw e;
        }
      });
    }
    rules.set(spec.name, { actions, groups, groupsText: groups?.map((g) => selectorText(g)) ?? [] });
  }
  for (const [name, kind] of kinds) {
    if (!rules.has(name))
      throw new PermissionsError(
        `authorization: ${kind} ${goQuote(name)} has no entry; give it one (actions: [] to allow nothing)`,
      );
  }
  return rules;
}

/** `job="a", team="b"` may be written without its braces. */
function braced(text: string): string {
  return text.trimStart().startsWith('{') ? text : `{${text}}`;
}

function selectorText(s: Selector): string {
  return `{${s.matchers.map((m) => `${m.name}${m.op}${goQuote(m.value)}`).join(', ')}}`;
}

/** A grouping key as messages show it: `{job="a", instance="b"}`. */
export function groupText(labels: GroupingLabels): string {
  return `{${Object.entries(labels)
    .map(([k, v]) => `${k}=${goQuote(v)}`)
    .join(', ')}}`;
}

const DOING: Record<Action, string> = {
  read: 'read (scrapes, /api/v1, the UI)',
  push: 'push',
  delete: 'delete groups',
  admin: 'wipe, delete groups by matchers or stop the gateway (admin)',
};

/** Whether the grant allows the action (on the group, for push and delete). */
export function allows(rule: Rule, action: Action, labels?: GroupingLabels): boolean {
  if (!rule.actions.has(action)) return false;
  if (labels === undefined || rule.groups === undefined || (action !== 'push' && action !== 'delete')) return true;
  for (const s of rule.groups) if (s.matches(labels)) return true;
  return false;
}

/** Why the grant does not allow the action, as the 403's sentence; undefined when it does. */
export function refusal(grant: Grant, action: Action, labels?: GroupingLabels): string | undefined {
  const { rule } = grant;
  if (allows(rule, action, labels)) return undefined;
  const who = credentialText(grant.credential);
  if (!rule.actions.has(action)) {
    const has = rule.actions.size === 0 ? 'it may take no action' : `its actions: ${[...rule.actions].join(', ')}`;
    return `${who} may not ${DOING[action]}; ${has}`;
  }
  return (
    `${who} may not ${action} the group ${groupText(labels!)}; ` +
    `its groups: ${rule.groupsText.join(' or ')} (web config file, authorization)`
  );
}

const grants = new WeakMap<IncomingMessage, Grant>();

/** The guard's verdict on who the request is. */
export function grantRequest(req: IncomingMessage, grant: Grant): void {
  grants.set(req, grant);
}

/** The request's grant; undefined when no credentials are configured (everything is open). */
export function grantOf(req: IncomingMessage): Grant | undefined {
  return grants.get(req);
}

/** Throws a ForbiddenError (403) when the request's credential may not do this. */
export function checkAccess(req: IncomingMessage, action: Action, labels?: GroupingLabels): void {
  const grant = grants.get(req);
  if (grant === undefined) return;
  const why = refusal(grant, action, labels);
  if (why !== undefined) throw new ForbiddenError(why);
}
