// --web.config.file: the exporter-toolkit's web configuration (TLS, basic auth, response headers),
// read as the reference (exporter-toolkit v0.8.2, which Pushgateway v1.5.1 uses) reads it.
//
// The file, as the toolkit documents it (docs/web-configuration.md there):
//
//   tls_server_config:
//     cert_file: <filename>            # relative paths are relative to the config file's directory
//     key_file: <filename>
//     client_auth_type: NoClientCert   # RequestClientCert, RequireAnyClientCert (alias RequireClientCert),
//                                      # VerifyClientCertIfGiven, RequireAndVerifyClientCert
//     client_ca_file: <filename>
//     min_version: TLS12               # TLS10, TLS11, TLS12, TLS13
//     max_version: TLS13
//     cipher_suites: [<Go name>, ...]  # the names of Go's tls.CipherSuites(), see CIPHER_SUITES
//     prefer_server_cipher_suites: true
//     curve_preferences: [CurveP256, CurveP384, CurveP521, X25519]
//   http_server_config:
//     http2: true                      # accepted; we serve HTTP/1.1 only (see below)
//     headers:                         # only these names; two of them with fixed values
//       Content-Security-Policy: ...
//       X-Frame-Options: deny | sameorigin
//       X-Content-Type-Options: nosniff
//       X-XSS-Protection: ...
//       Strict-Transport-Security: ...
//   basic_auth_users:
//     <user>: <bcrypt hash>
//   bearer_tokens:                     # OUR EXTENSION, not in the toolkit (the reference refuses it):
//     - <token>                        # `Authorization: Bearer <token>` is let in, as the Java client sends it
//     - name: <name>                   # a named token: logs and `authorization` know it by its name
//       token: <token>
//   authorization:                     # OUR EXTENSION (permissions.ts): without it, every credential may do all
//     <user or token name>:
//       actions: [read, push, delete, admin]
//       groups: ['job=~"backup-.*"', 'team="payments"']   # push and delete only to groups matching one
//
// Behaviour, as the reference's:
// - The file is strict: unknown keys, wrong types and duplicate keys are errors; so are unknown
//   cipher, curve and TLS version names, header names other than the five above, bad bcrypt hashes,
//   missing or unreadable certificate files, a client CA without a client auth type.
// - TLS is on when any of cert_file, key_file, client_auth_type, client_ca_file is set.
// - Every request (every endpoint) gets the configured headers; with users or tokens configured,
//   a request without valid credentials gets 401, `WWW-Authenticate: Basic` and "Unauthorized\n".
// - Successful and failed bcrypt checks are cached, keyed by user, hash and password (as the toolkit;
//   we key by a SHA-256 of the three so no password is kept), so a client pushing again costs no bcrypt.
// - An unknown user is checked against a fixed hash, so timing does not tell which users exist.
// - bcrypt runs on worker threads (bcryptpool.ts), not on the event loop. Unlike the reference, the
//   checks under way are bounded, in all and per remote address: beyond the bounds a request with
//   unverified credentials gets 429 (its address has too many) or 503 (too many in all), with
//   Retry-After, a second later; an address whose checks keep failing gets 429 without a check
//   for a time that doubles with each failure (after 5, from 1 s to 60 s), where the reference
//   checks and answers 401 every time; cached credentials are answered at once whatever the load.
//   Refusals close their connection; a blocked address's new connections are answered at the
//   accept, unparsed (sourcegate.ts), unless a verified credential came from it recently.
// - The reference re-reads the file on every request and the certificates on every TLS handshake.
//   We re-read it when it (or a certificate, key or CA file) changes: fs.watch on their directories
//   plus a poll every second; a change applies to following requests and handshakes (certificate
//   rotation works without a restart). A file that turns invalid while running gets every request a
//   500 "Internal Server Error", as in the reference, until it is fixed; TLS handshakes keep the last
//   good certificates (the reference would fail them).
//
// Differences from the reference, on purpose:
// - An invalid file stops the start with exit code 1 and a message naming the file; the reference
//   logs "HTTP server stopped" and exits with 0, after having opened the port.
// - min_version above max_version and a client CA file without any certificate are refused at the
//   start (the reference starts, then fails every handshake / every client certificate).
// - Hashes Go accepts at the start but bcrypt can never match (e.g. version '$1$', extra characters)
//   are refused.
// - http2: accepted and validated (including Go's refusal of a cipher_suites list without an
//   HTTP/2-required AES-128-GCM suite, so the same files are valid for both), but we speak HTTP/1.1
//   only: ALPN offers http/1.1, and HTTP/2 clients use HTTP/1.1.
// - cipher_suites applies to TLS 1.2 and below, as in Go; for TLS 1.3, Go always enables its three
//   suites; we do that too unless the list names TLS 1.3 suites, which we then honour.
//   prefer_server_cipher_suites maps to OpenSSL's server preference (Go 1.17+ ignores it).
//   min_version TLS10/TLS11 lowers OpenSSL's security level to 0, which TLS 1.0/1.1 need in OpenSSL 3.
// - Switching between TLS and plain HTTP, and http2, take effect at the next start only (as in the
//   reference for http2; the reference's listener type is also fixed at start).
// - Passwords must be valid UTF-8 (bcryptjs hashes strings); others are refused with 401.
// - TLS handshake errors are logged at debug level (the reference prints each one).
import { createHash, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerOptions,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import path from 'node:path';
import { createSecureContext, DEFAULT_CIPHERS, type SecureContextOptions, type TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Scalar } from 'yaml';
import { goQuote } from '../lib/goquote.js';
import type { AuditLog } from './audit.js';
import { BcryptPool, RetryLaterError } from './bcryptpool.js';
import { SourceGate, type SourceGateOptions } from './sourcegate.js';
import { sourceOf } from './connections.js';
import {
  ANONYMOUS,
  compilePermissions,
  EVERYTHING,
  grantRequest,
  PermissionsError,
  type Credential,
  type Rule,
  type RuleSpec,
} from './permissions.js';

// ---------------------------------------------------------------------------------------------
// The typed configuration

export type ClientAuthType =
  | 'NoClientCert'
  | 'RequestClientCert'
  | 'RequireAnyClientCert'
  | 'VerifyClientCertIfGiven'
  | 'RequireAndVerifyClientCert';
export type TlsVersionName = 'TLS10' | 'TLS11' | 'TLS12' | 'TLS13';
export type CurveName = 'CurveP256' | 'CurveP384' | 'CurveP521' | 'X25519';

export interface TlsServerConfig {
  /** Paths as written, joined to the config file's directory when relative ('' when absent). */
  certFile: string;
  keyFile: string;
  clientCaFile: string;
  /** As written ('' when absent); checked when the TLS settings are built, as the toolkit does. */
  clientAuthType: string;
  minVersion: TlsVersionName;
  maxVersion: TlsVersionName;
  /** Go names, in the file's order. */
  cipherSuites: string[];
  preferServerCipherSuites: boolean;
  curvePreferences: CurveName[];
  /**
   * client_allowed_sans (exporter-toolkit ≥ 0.9; the reference 1.5.1 refuses the key): a client
   * certificate must carry one of these SANs (DNS name, email, IP address or URI, compared as
   * written); undefined when absent.
   */
  clientAllowedSans?: string[];
}

export interface WebConfig {
  file: string;
  tls: TlsServerConfig;
  /** Whether TLS is on: any of cert_file, key_file, client_auth_type, client_ca_file set. */
  tlsEnabled: boolean;
  http2: boolean;
  /** Extra response headers, in the file's order. */
  headers: Array<[string, string]>;
  /** User → bcrypt hash. */
  users: Map<string, string>;
  /** Our extension: accepted `Authorization: Bearer` tokens. */
  bearerTokens: string[];
  /** Their names, in the same order ('' for a token given as a bare string). */
  tokenNames: string[];
  /** Our extension: the authorization section, by credential name; undefined when absent. */
  permissions: Map<string, Rule> | undefined;
}

/** A configuration with its files read: what a running server uses. */
export interface LoadedWebConfig {
  config: WebConfig;
  /** The https options (certificate, key, CA, versions, ciphers, curves, client certificate request); null without TLS. */
  tls: TlsSetup | null;
  /** Hash of the config file and every file it names, to see whether anything changed. */
  fingerprint: string;
}

export interface TlsSetup {
  options: SecureContextOptions & { requestCert: boolean; rejectUnauthorized: boolean };
  clientAuth: ClientAuthType;
  /** client_allowed_sans, when set. */
  allowedSans?: readonly string[];
}

/** An invalid web config file; the message names the file. */
export class WebConfigError extends Error {
  constructor(
    readonly file: string,
    readonly detail: string,
  ) {
    super(`web config file ${file}: ${detail}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Names the toolkit accepts

/** Go's tls.CipherSuites() (Go 1.19) → OpenSSL names. The toolkit refuses Go's insecure suites. */
export const CIPHER_SUITES: Readonly<Record<string, { openssl: string; tls13: boolean }>> = {
  TLS_RSA_WITH_AES_128_CBC_SHA: { openssl: 'AES128-SHA', tls13: false },
  TLS_RSA_WITH_AES_256_CBC_SHA: { openssl: 'AES256-SHA', tls13: false },
  TLS_RSA_WITH_AES_128_GCM_SHA256: { openssl: 'AES128-GCM-SHA256', tls13: false },
  TLS_RSA_WITH_AES_256_GCM_SHA384: { openssl: 'AES256-GCM-SHA384', tls13: false },
  TLS_AES_128_GCM_SHA256: { openssl: 'TLS_AES_128_GCM_SHA256', tls13: true },
  TLS_AES_256_GCM_SHA384: { openssl: 'TLS_AES_256_GCM_SHA384', tls13: true },
  TLS_CHACHA20_POLY1305_SHA256: { openssl: 'TLS_CHACHA20_POLY1305_SHA256', tls13: true },
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: { openssl: 'ECDHE-ECDSA-AES128-SHA', tls13: false },
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: { openssl: 'ECDHE-ECDSA-AES256-SHA', tls13: false },
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: { openssl: 'ECDHE-RSA-AES128-SHA', tls13: false },
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: { openssl: 'ECDHE-RSA-AES256-SHA', tls13: false },
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: { openssl: 'ECDHE-ECDSA-AES128-GCM-SHA256', tls13: false },
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: { openssl: 'ECDHE-ECDSA-AES256-GCM-SHA384', tls13: false },
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: { openssl: 'ECDHE-RSA-AES128-GCM-SHA256', tls13: false },
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: { openssl: 'ECDHE-RSA-AES256-GCM-SHA384', tls13: false },
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: { openssl: 'ECDHE-RSA-CHACHA20-POLY1305', tls13: false },
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: { openssl: 'ECDHE-ECDSA-CHACHA20-POLY1305', tls13: false },
};
/** Go's TLS 1.3 suites, always on in Go whatever cipher_suites says. */
const GO_TLS13_SUITES = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'];

export const CURVES: Readonly<Record<CurveName, string>> = {
  CurveP256: 'P-256',
  CurveP384: 'P-384',
  CurveP521: 'P-521',
  X25519: 'X25519',
};

export const TLS_VERSIONS: Readonly<
  Record<TlsVersionName, { node: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3'; order: number }>
> = {
  TLS10: { node: 'TLSv1', order: 0 },
  TLS11: { node: 'TLSv1.1', order: 1 },
  TLS12: { node: 'TLSv1.2', order: 2 },
  TLS13: { node: 'TLSv1.3', order: 3 },
};

const CLIENT_AUTH_TYPES: Readonly<Record<string, ClientAuthType>> = {
  '': 'NoClientCert',
  NoClientCert: 'NoClientCert',
  RequestClientCert: 'RequestClientCert',
  RequireAnyClientCert: 'RequireAnyClientCert',
  RequireClientCert: 'RequireAnyClientCert', // kept by the toolkit for backwards compatibility
  VerifyClientCertIfGiven: 'VerifyClientCertIfGiven',
  RequireAndVerifyClientCert: 'RequireAndVerifyClientCert',
};

/** The toolkit's only configurable headers; a non-empty list restricts the value. */
export const ALLOWED_HEADERS: Readonly<Record<string, readonly string[]>> = {
  'Strict-Transport-Security': [],
  'X-Content-Type-Options': ['nosniff'],
  'X-Frame-Options': ['deny', 'sameorigin'],
  'X-XSS-Protection': [],
  'Content-Security-Policy': [],
};

// ---------------------------------------------------------------------------------------------
// Parsing: yaml.v2's UnmarshalStrict, as far as the file format needs it

type Node = unknown;

class Walker {
  readonly errors: string[] = [];
  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  deref(node: Node): Node {
    let n = node;
    for (let i = 0; i < 100 && isAlias(n); i++) n = n.resolve(this.doc);
    return n;
  }

  line(node: Node): number {
    const range = (node as { range?: [number, number, number] } | null)?.range;
    return range ? this.lines.linePos(range[0]).line : 1;
  }

  isNull(node: Node): boolean {
    const n = this.deref(node);
    return n === null || n === undefined || (isScalar(n) && n.value === null);
  }

  /** yaml.v2's type error: "line N: cannot unmarshal !!str `value` into T". */
  typeError(node: Node, goType: string): void {
    const n = this.deref(node);
    let tag: string;
    let value = '';
    if (isMap(n)) tag = '!!map';
    else if (isSeq(n)) tag = '!!seq';
    else {
      const s = n as Scalar;
      const v = s.value;
      tag =
        typeof v === 'boolean'
          ? '!!bool'
          : typeof v === 'number'
            ? Number.isInteger(v) && !/[.eE]/.test(String(s.source ?? ''))
              ? '!!int'
              : '!!float'
            : v === null
              ? '!!null'
              : '!!str';
      const text = scalarText(s);
      value = text.length > 10 ? ` \`${text.slice(0, 7)}...\`` : ` \`${text}\``;
    }
    this.errors.push(`line ${this.line(node)}: cannot unmarshal ${tag}${value} into ${goType}`);
  }

  /** A scalar as a string, as yaml.v2 fills a string field from any scalar; undefined for null. */
  string(node: Node, goType = 'string'): string | undefined {
    const n = this.deref(node);
    if (this.isNull(n)) return undefined;
    if (!isScalar(n)) {
      this.typeError(node, goType);
      return undefined;
    }
    return scalarText(n);
  }

  bool(node: Node): boolean | undefined {
    const n = this.deref(node);
    if (this.isNull(n)) return undefined;
    if (!isScalar(n) || typeof n.value !== 'boolean') {
      this.typeError(node, 'bool');
      return undefined;
    }
    return n.value;
  }

  /** A mapping's entries with string keys; a duplicate key is yaml.v2's error (struct fields apart). */
  entries(node: Node, goType: string, struct = false): Array<{ key: string; keyNode: Node; value: Node }> {
    const n = this.deref(node);
    if (this.isNull(n)) return [];
    if (!isMap(n)) {
      this.typeError(node, goType);
      return [];
    }
    const out: Array<{ key: string; keyNode: Node; value: Node }> = [];
    const merged: Array<{ key: string; keyNode: Node; value: Node }> = [];
    const seen = new Set<string>();
    for (const pair of n.items) {
      const k = this.deref(pair.key);
      if (isScalar(k) && typeof k.value === 'symbol') {
        // A merge key (<<: *anchor, or a list of them): its entries count unless set explicitly.
        const v = this.deref(pair.value);
        for (const source of isSeq(v) ? v.items.map((i) => this.deref(i)) : [v]) {
          if (isMap(source)) merged.push(...this.entries(source, goType, struct));
          else
            this.errors.push(`line ${this.line(pair.value)}: map merge requires map or sequence of maps as the value`);
        }
        continue;
      }
      if (k !== null && !isScalar(k)) {
        this.typeError(pair.key, 'string');
        continue;
      }
      const key = k === null ? '' : scalarText(k);
      if (seen.has(key) && !struct) {
        this.errors.push(`line ${this.line(pair.key)}: key ${goQuote(key)} already set in map`);
        continue;
      }
      seen.add(key);
      out.push({ key, keyNode: pair.key, value: pair.value });
    }
    for (const m of merged) {
      if (seen.has(m.key)) continue;
      seen.add(m.key);
      out.push(m);
    }
    return out;
  }

  /** A struct: every key must be a known field. */
  struct(node: Node, goType: string, fields: Record<string, (value: Node) => void>): void {
    const set = new Set<string>();
    for (const { key, keyNode, value } of this.entries(node, goType, true)) {
      const field = Object.hasOwn(fields, key) ? fields[key] : undefined;
      if (field === undefined) this.errors.push(`line ${this.line(keyNode)}: field ${key} not found in type ${goType}`);
      else if (set.has(key)) this.errors.push(`line ${this.line(keyNode)}: field ${key} already set in type ${goType}`);
      else {
        set.add(key);
        field(value);
      }
    }
  }

  list(node: Node, goType: string): Node[] {
    const n = this.deref(node);
    if (this.isNull(n)) return [];
    if (!isSeq(n)) {
      this.typeError(node, goType);
      return [];
    }
    return n.items;
  }
}

function scalarText(s: Scalar): string {
  if (typeof s.value === 'string') return s.value;
  // Plain scalars resolved as numbers or booleans: yaml.v2 keeps the text as written.
  return typeof s.source === 'string' ? s.source : String(s.value);
}

/** Parses and validates the file's text (no other files are read). Throws WebConfigError. */
export function parseWebConfig(text: string, file: string): WebConfig {
  const fail = (detail: string): never => {
    throw new WebConfigError(file, detail);
  };
  const lines = new LineCounter();
  const doc = parseDocument(text, {
    version: '1.1',
    uniqueKeys: false,
    prettyErrors: false,
    lineCounter: lines,
    merge: true,
  });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    fail(`yaml: line ${lines.linePos(e.pos[0]).line}: ${e.message.split('\n')[0]}`);
  }
  const w = new Walker(doc, lines);
  const tls: TlsServerConfig = {
    certFile: '',
    keyFile: '',
    clientCaFile: '',
    clientAuthType: '',
    minVersion: 'TLS12',
    maxVersion: 'TLS13',
    cipherSuites: [],
    preferServerCipherSuites: true,
    curvePreferences: [],
  };
  const config: WebConfig = {
    file,
    tls,
    tlsEnabled: false,
    http2: true,
    headers: [],
    users: new Map(),
    bearerTokens: [],
    tokenNames: [],
    permissions: undefined,
  };
  const ruleSpecs: RuleSpec[] = [];
  let hasAuthorization = false;
  const strings = (list: Node) => w.list(list, '[]string').map((item) => w.string(item) ?? '');
  // Errors raised by the toolkit's own unmarshalers (cipher, curve and version names) end the
  // decoding at once in yaml.v2; type errors are collected ("yaml: unmarshal errors: ...").
  const fatal: string[] = [];
  const tlsVersion = (value: Node): TlsVersionName | undefined => {
    const s = w.string(value);
    if (s === undefined) return undefined;
    if (Object.hasOwn(TLS_VERSIONS, s)) return s as TlsVersionName;
    fatal.push(`unknown TLS version: ${s}`);
    return undefined;
  };
  const setString = (assign: (s: string) => void) => (value: Node) => {
    const s = w.string(value);
    if (s !== undefined) assign(s);
  };

  w.struct(doc.contents, 'web.Config', {
    tls_server_config: (node) =>
      w.struct(node, 'web.TLSConfig', {
        cert_file: setString((s) => (tls.certFile = s)),
        key_file: setString((s) => (tls.keyFile = s)),
        client_auth_type: setString((s) => (tls.clientAuthType = s)),
        client_ca_file: setString((s) => (tls.clientCaFile = s)),
        client_allowed_sans: (list) => {
          tls.clientAllowedSans = w.list(list, '[]string').map((item) => w.string(item) ?? '');
        },
        cipher_suites: (list) => {
          for (const item of w.list(list, '[]web.Cipher')) {
            const s = w.string(item) ?? '';
            if (Object.hasOwn(CIPHER_SUITES, s)) tls.cipherSuites.push(s);
            else fatal.push(`unknown cipher: ${s}`);
          }
        },
        curve_preferences: (list) => {
          for (const item of w.list(list, '[]web.Curve')) {
            const s = w.string(item) ?? '';
            if (Object.hasOwn(CURVES, s)) tls.curvePreferences.push(s as CurveName);
            else fatal.push(`unknown curve: ${s}`);
          }
        },
        min_version: (v) => {
          const t = tlsVersion(v);
          if (t !== undefined) tls.minVersion = t;
        },
        max_version: (v) => {
          const t = tlsVersion(v);
          if (t !== undefined) tls.maxVersion = t;
        },
        prefer_server_cipher_suites: (v) => {
          const b = w.bool(v);
          if (b !== undefined) tls.preferServerCipherSuites = b;
        },
      }),
    http_server_config: (node) =>
      w.struct(node, 'web.HTTPConfig', {
        http2: (v) => {
          const b = w.bool(v);
          if (b !== undefined) config.http2 = b;
        },
        headers: (map) => {
          for (const { key, value } of w.entries(map, 'map[string]string'))
            config.headers.push([key, w.string(value) ?? '']);
        },
      }),
    basic_auth_users: (map) => {
      for (const { key, value } of w.entries(map, 'map[string]config.Secret'))
        config.users.set(key, w.string(value) ?? '');
    },
    bearer_tokens: (list) => {
      for (const item of w.list(list, '[]string')) {
        let token = '';
        let name = '';
        if (isMap(w.deref(item)))
          w.struct(item, 'web.BearerToken', {
            name: setString((s) => (name = s)),
            token: setString((s) => (token = s)),
          });
        else token = w.string(item) ?? '';
        config.bearerTokens.push(token);
        config.tokenNames.push(name);
      }
    },
    authorization: (map) => {
      hasAuthorization = true;
      for (const { key, value } of w.entries(map, 'map[string]web.Permissions')) {
        const spec: RuleSpec = { name: key, actions: [], groups: undefined };
        w.struct(value, 'web.Permissions', {
          actions: (list) => (spec.actions = strings(list)),
          groups: (list) => (spec.groups = w.isNull(list) ? undefined : strings(list)),
        });
        ruleSpecs.push(spec);
      }
    },
  });
  if (fatal.length > 0) fail(fatal[0]);
  if (w.errors.length > 0) fail(`yaml: unmarshal errors: ${w.errors.join('; ')}`);

  // The toolkit's header rules.
  for (const [name, value] of config.headers) {
    const allowed = Object.hasOwn(ALLOWED_HEADERS, name) ? ALLOWED_HEADERS[name] : undefined;
    if (allowed === undefined) fail(`HTTP header ${goQuote(name)} can not be configured`);
    else if (allowed.length > 0 && !allowed.includes(value)) {
      fail(
        `invalid value for ${name}. Expected one of: [${allowed.map(goQuote).join(' ')}], but got: ${goQuote(value)}`,
      );
    }
  }
  // The toolkit's bcrypt.Cost check, then ours: a hash bcrypt can actually compare against.
  for (const [user, hash] of config.users) {
    const err = goBcryptHashError(hash);
    if (err !== undefined) fail(`basic_auth_users: user ${goQuote(user)}: ${err}`);
    if (!BCRYPT_SHAPE.test(hash))
      fail(
        `basic_auth_users: user ${goQuote(user)}: not a bcrypt hash ($2a$, $2b$ or $2y$, a two-digit cost, 53 characters of salt and hash)`,
      );
  }
  config.bearerTokens.forEach((token, i) => {
    if (!/^[\x21-\x7e]+$/.test(token))
      fail(`bearer_tokens: token ${i + 1} must be non-empty printable ASCII without spaces`);
  });
  if (hasAuthorization) {
    if (config.users.size === 0 && config.bearerTokens.length === 0)
      fail('authorization: there are no basic_auth_users nor bearer_tokens to give permissions to');
    try {
      config.permissions = compilePermissions(ruleSpecs, config.users.keys(), config.tokenNames);
    } catch (e) {
      if (e instanceof PermissionsError) fail(e.message);
      throw e;
    }
  }

  // SetDirectory: relative paths are relative to the config file.
  const dir = path.dirname(file);
  const join = (p: string) => (p === '' || path.isAbsolute(p) ? p : path.join(dir, p));
  tls.certFile = join(tls.certFile);
  tls.keyFile = join(tls.keyFile);
  tls.clientCaFile = join(tls.clientCaFile);
  config.tlsEnabled = tls.certFile !== '' || tls.keyFile !== '' || tls.clientAuthType !== '' || tls.clientCaFile !== '';
  return config;
}

const BCRYPT_SHAPE = /^\$2[aby]?\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}$/;

/** golang.org/x/crypto/bcrypt's newFromHash checks, with its messages; undefined when Go accepts. */
export function goBcryptHashError(hash: string): string | undefined {
  const b = Buffer.from(hash, 'utf8');
  if (b.length < 59) return 'crypto/bcrypt: hashedSecret too short to be a bcrypted password';
  if (b[0] !== 0x24)
    return `crypto/bcrypt: bcrypt hashes must start with '$', but hashedSecret started with '${String.fromCharCode(b[0])}'`;
  if (b[1] > 0x32)
    return `crypto/bcrypt: bcrypt algorithm version '${String.fromCharCode(b[1])}' requested is newer than current version '2'`;
  const n = b[2] === 0x24 ? 3 : 4;
  const costText = b.subarray(n, n + 2).toString('latin1');
  if (!/^[+-]?\d+$/.test(costText)) return `strconv.Atoi: parsing ${goQuote(costText)}: invalid syntax`;
  const cost = Number(costText);
  if (cost < 4 || cost > 31) return `crypto/bcrypt: cost ${cost} is outside allowed range (4,31)`;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// TLS settings

/** Go's error text for a file that cannot be read. */
function goFileError(err: unknown, file: string): string {
  const code = (err as NodeJS.ErrnoException).code;
  const reasons: Record<string, string> = {
    ENOENT: 'no such file or directory',
    EACCES: 'permission denied',
    EISDIR: 'is a directory',
    ENOTDIR: 'not a directory',
  };
  if (code === 'EISDIR') return `read ${file}: is a directory`;
  return `open ${file}: ${code !== undefined && reasons[code] !== undefined ? reasons[code] : (err as Error).message}`;
}

type ReadFile = (file: string) => Buffer;

/** The https options for a TLS configuration (ConfigToTLSConfig); reads the files. Throws WebConfigError. */
export function buildTlsSetup(config: WebConfig, read: ReadFile = (f) => readFileSync(f)): TlsSetup {
  const t = config.tls;
  const fail = (detail: string): never => {
    throw new WebConfigError(config.file, detail);
  };
  if (t.certFile === '') fail('missing cert_file');
  if (t.keyFile === '') fail('missing key_file');
  const readOr = (file: string, prefix: string): Buffer => {
    try {
      return read(file);
    } catch (e) {
      return fail(prefix + goFileError(e, file));
    }
  };
  const cert = readOr(t.certFile, 'failed to load X509KeyPair: ');
  const key = readOr(t.keyFile, 'failed to load X509KeyPair: ');
  if (!cert.includes('-----BEGIN CERTIFICATE-----'))
    fail('failed to load X509KeyPair: tls: failed to find any PEM data in certificate input');
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key.toString('latin1')))
    fail('failed to load X509KeyPair: tls: failed to find any PEM data in key input');
  try {
    createSecureContext({ cert, key });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    fail(
      `failed to load X509KeyPair: ${code === 'ERR_OSSL_X509_KEY_VALUES_MISMATCH' ? 'tls: private key does not match public key' : `tls: ${(e as Error).message}`}`,
    );
  }
  let ca: Buffer | undefined;
  if (t.clientCaFile !== '') {
    ca = readOr(t.clientCaFile, '');
    if (!ca.includes('-----BEGIN CERTIFICATE-----')) fail(`client_ca_file ${t.clientCaFile}: no PEM certificate found`);
  }
  const clientAuth = Object.hasOwn(CLIENT_AUTH_TYPES, t.clientAuthType)
    ? CLIENT_AUTH_TYPES[t.clientAuthType]
    : undefined;
  if (clientAuth === undefined) return fail(`Invalid ClientAuth: ${t.clientAuthType}`);
  if (t.clientCaFile !== '' && clientAuth === 'NoClientCert')
    fail("Client CA's have been configured without a Client Auth Policy");

  // Cipher suites: the list is for TLS 1.0-1.2; TLS 1.3 suites as Go (all three) unless named.
  const tls12 = t.cipherSuites.filter((n) => !CIPHER_SUITES[n].tls13).map((n) => CIPHER_SUITES[n].openssl);
  const named13 = t.cipherSuites.filter((n) => CIPHER_SUITES[n].tls13);
  let minVersion = t.minVersion;
  if (t.cipherSuites.length > 0 && tls12.length === 0 && TLS_VERSIONS[minVersion].order < 3) minVersion = 'TLS13'; // no suite for TLS <= 1.2
  if (TLS_VERSIONS[minVersion].order > TLS_VERSIONS[t.maxVersion].order) {
    fail(
      minVersion === t.minVersion
        ? `min_version ${t.minVersion} is above max_version ${t.maxVersion}: no TLS version is left`
        : `cipher_suites has no TLS 1.2 (or older) suite, so only TLS 1.3 could work, but max_version is ${t.maxVersion}`,
    );
  }
  // Go's HTTP/2 server refuses a TLS 1.2 suite list without an AES-128-GCM suite it requires.
  if (config.http2 && t.cipherSuites.length > 0 && TLS_VERSIONS[t.minVersion].order < 3) {
    if (
      !t.cipherSuites.includes('TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256') &&
      !t.cipherSuites.includes('TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256')
    ) {
      fail(
        'http2: TLSConfig.CipherSuites is missing an HTTP/2-required AES_128_GCM_SHA256 cipher (need at least one of TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 or TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)',
      );
    }
  }
  const oldVersions = TLS_VERSIONS[minVersion].order < 2;
  let ciphers: string | undefined;
  if (t.cipherSuites.length > 0) {
    ciphers = [...(named13.length > 0 ? named13 : GO_TLS13_SUITES), ...tls12].join(':');
  } else if (oldVersions) ciphers = DEFAULT_CIPHERS;
  if (ciphers !== undefined && oldVersions) ciphers += ':@SECLEVEL=0'; // OpenSSL 3 refuses TLS 1.0/1.1 otherwise

  const options: TlsSetup['options'] = {
    cert,
    key,
    minVersion: TLS_VERSIONS[minVersion].node,
    maxVersion: TLS_VERSIONS[t.maxVersion].node,
    honorCipherOrder: t.preferServerCipherSuites,
    requestCert: clientAuth !== 'NoClientCert',
    rejectUnauthorized: clientAuth === 'RequireAndVerifyClientCert',
  };
  if (ciphers !== undefined) options.ciphers = ciphers;
  if (t.curvePreferences.length > 0) options.ecdhCurve = t.curvePreferences.map((c) => CURVES[c]).join(':');
  if (ca !== undefined) options.ca = ca;
  try {
    createSecureContext(options);
  } catch (e) {
    fail(`tls: ${(e as Error).message}`);
  }
  return t.clientAllowedSans === undefined
    ? { options, clientAuth }
    : { options, clientAuth, allowedSans: t.clientAllowedSans };
}

/** Reads, parses and checks the file and the files it names. Throws WebConfigError. */
export function loadWebConfig(file: string, read: ReadFile = (f) => readFileSync(f)): LoadedWebConfig {
  let text: Buffer;
  try {
    text = read(file);
  } catch (e) {
    throw new WebConfigError(file, goFileError(e, file));
  }
  const config = parseWebConfig(text.toString('utf8'), file);
  const seen: Buffer[] = [];
  const tracking: ReadFile = (f) => {
    const b = read(f);
    seen.push(b);
    return b;
  };
  const tls = config.tlsEnabled ? buildTlsSetup(config, tracking) : null;
  return { config, tls, fingerprint: fingerprint(text, seen) };
}

function fingerprint(text: Buffer, files: Buffer[]): string {
  const h = createHash('sha256').update(text);
  for (const f of files) h.update(String(f.length)).update(':').update(f);
  return h.digest('hex');
}

/** A hash of the files' bytes (or of why they cannot be read). */
function rawFingerprint(files: string[]): string {
  const h = createHash('sha256');
  for (const f of files) {
    try {
      const b = readFileSync(f);
      h.update(`${b.length}:`).update(b);
    } catch (e) {
      h.update(`error:${String((e as NodeJS.ErrnoException).code)}`);
    }
  }
  return h.digest('hex');
}

/** The files a configuration depends on (the config file first). */
function dependencies(config: WebConfig | undefined, file: string): string[] {
  const t = config?.tls;
  return [file, ...(t && config?.tlsEnabled ? [t.certFile, t.keyFile, t.clientCaFile].filter((f) => f !== '') : [])];
}

// ---------------------------------------------------------------------------------------------
// The live configuration: loaded at the start, reloaded on change

export interface WebConfigSource {
  readonly file: string;
  /** The last valid configuration. */
  readonly current: LoadedWebConfig;
  /** Set while the file on disk is invalid: requests are then answered 500, as in the reference. */
  readonly error: string | undefined;
}

export interface LiveWebConfigOptions {
  /** Poll interval; 0 disables polling (fs.watch still applies). Default 1000 ms. */
  pollMs?: number;
  /** Whether to use fs.watch on the files' directories. Default true. */
  watch?: boolean;
}

/**
 * The web config file as it is now. Emits 'change' (LoadedWebConfig) after a valid new version was
 * loaded, 'invalid' (message) when the file turned invalid.
 */
export class LiveWebConfig extends EventEmitter implements WebConfigSource {
  private loaded: LoadedWebConfig;
  private failure: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private watchers = new Map<string, FSWatcher>();
  private closed = false;
  /** The bytes of the files last looked at, to skip parsing when nothing changed. */
  private lastRaw: string;

  private constructor(
    readonly file: string,
    private readonly log: Logger | undefined,
    initial: LoadedWebConfig,
    private readonly options: LiveWebConfigOptions,
  ) {
    super();
    this.loaded = initial;
    this.lastRaw = rawFingerprint(dependencies(initial.config, file));
  }

  /** Loads the file (throws WebConfigError when invalid) and starts watching it. */
  static open(file: string, log?: Logger, options: LiveWebConfigOptions = {}): LiveWebConfig {
    const live = new LiveWebConfig(file, log, loadWebConfig(file), options);
    const pollMs = options.pollMs ?? 1000;
    if (pollMs > 0) {
      live.timer = setInterval(() => live.reload(), pollMs);
      live.timer.unref();
    }
    live.rewatch();
    return live;
  }

  get current(): LoadedWebConfig {
    return this.loaded;
  }

  get error(): string | undefined {
    return this.failure;
  }

  /** Re-reads the file and the files it names; applies a valid change. */
  reload(): void {
    if (this.closed) return;
    const raw = rawFingerprint(dependencies(this.loaded.config, this.file));
    // While invalid, always retry: the fix may be a file the last valid version did not name.
    if (raw === this.lastRaw && this.failure === undefined) return;
    this.lastRaw = raw;
    let next: LoadedWebConfig;
    try {
      next = loadWebConfig(this.file);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      if (message !== this.failure) {
        this.failure = message;
        this.log?.error({ file: this.file, err: message }, 'Unable to parse configuration');
        this.emit('invalid', message);
      }
      return;
    }
    const recovered = this.failure !== undefined;
    this.failure = undefined;
    if (next.fingerprint === this.loaded.fingerprint) {
      if (recovered) this.log?.info({ file: this.file }, 'web config file is valid again');
      return;
    }
    this.loaded = next;
    this.log?.info({ file: this.file }, 'web config file reloaded');
    this.rewatch();
    this.emit('change', next);
  }

  /** Watches the directories of the config file and of the files it names. */
  private rewatch(): void {
    if (this.options.watch === false || this.closed) return;
    const dirs = new Set(dependencies(this.loaded.config, this.file).map((f) => path.dirname(path.resolve(f))));
    for (const [dir, w] of this.watchers) {
      if (!dirs.has(dir)) {
        w.close();
        this.watchers.delete(dir);
      }
    }
    for (const dir of dirs) {
      if (this.watchers.has(dir)) continue;
      try {
        const w = watch(dir, { persistent: false }, () => this.schedule());
        w.on('error', () => {
          w.close();
          this.watchers.delete(dir);
        });
        this.watchers.set(dir, w);
      } catch {
        // No watch (e.g. no inotify instances left): the poll still notices changes.
      }
    }
  }

  private schedule(): void {
    if (this.debounce !== undefined || this.closed) return;
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      this.reload();
    }, 100); // let a writer finish (an editor's truncate-then-write) before reading
    this.debounce.unref();
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    if (this.debounce !== undefined) clearTimeout(this.debounce);
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }
}

// ---------------------------------------------------------------------------------------------
// Authentication

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Go's http.Request.BasicAuth: "Basic " (any case) and strict standard base64 of "user:password". */
export function parseBasicAuth(header: string): { user: string; password: string } | undefined {
  if (header.length < 6 || header.slice(0, 6).toLowerCase() !== 'basic ') return undefined;
  const encoded = header.slice(6).replace(/[\r\n]/g, '');
  if (encoded.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(encoded)) return undefined;
  let decoded: string;
  try {
    decoded = UTF8.decode(Buffer.from(encoded, 'base64'));
  } catch {
    return undefined; // not UTF-8: bcryptjs hashes strings, so such a password cannot be checked
  }
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** `Bearer <token>` (scheme in any case), or undefined for another scheme. */
export function parseBearer(header: string): string | undefined {
  const m = /^bearer +(\S+) *$/i.exec(header);
  return m === null ? undefined : m[1];
}

/** The toolkit's stand-in hash for unknown users ("fakepassword", cost 10). */
const FAKE_HASH = '$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi';

/** A bounded map, oldest entry evicted first; a hit makes an entry the newest. */
class BoundedCache {
  private readonly map = new Map<string, true>();
  constructor(private readonly max: number) {}
  has(key: string): boolean {
    if (!this.map.has(key)) return false;
    this.map.delete(key);
    this.map.set(key, true);
    return true;
  }
  add(key: string): void {
    this.map.delete(key);
    this.map.set(key, true);
    while (this.map.size > this.max) this.map.delete(this.map.keys().next().value as string);
  }
  get size(): number {
    return this.map.size;
  }
}

/**
 * Decides whether a request's Authorization header lets it in. Results of bcrypt are cached by
 * (user, hash, password) — positives and negatives apart, so a stream of wrong passwords cannot
 * push the good ones out — and concurrent identical checks share one bcrypt run, on `pool`.
 */
export class Authenticator {
  /** How many bcrypt comparisons ran (for tests and curiosity). */
  bcryptRuns = 0;
  private readonly good: BoundedCache;
  private readonly bad: BoundedCache;
  private readonly pending = new Map<string, Promise<boolean>>();

  constructor(
    cacheSize = 100,
    private readonly pool = new BcryptPool(),
  ) {
    this.good = new BoundedCache(cacheSize);
    this.bad = new BoundedCache(cacheSize);
  }

  /**
   * true/false when known at once, a promise when bcrypt has to run. The promise rejects with an
   * HttpError when the check cannot run: `source` (the remote address) or the gateway has too many
   * under way, or the worker running it died.
   */
  authorize(header: string | undefined, config: WebConfig, source = ''): boolean | Promise<boolean> {
    if (header === undefined) return false;
    const token = parseBearer(header);
    if (token !== undefined) return tokenIndex(token, config.bearerTokens) >= 0;
    if (config.users.size === 0) return false;
    const basic = parseBasicAuth(header);
    if (basic === undefined) return false;
    const known = config.users.get(basic.user);
    const hash = known ?? FAKE_HASH;
    const key = createHash('sha256')
      .update(`${Buffer.byteLength(basic.user)}:${basic.user}${hash.length}:${hash}`)
      .update(basic.password)
      .digest('base64');
    if (this.good.has(key)) return known !== undefined;
    if (this.bad.has(key)) return false;
    const running = this.pending.get(key);
    if (running !== undefined) return running.then((ok) => ok && known !== undefined);
    let run: Promise<boolean>;
    try {
      // An unknown user's "match" (the stand-in's password) is a failure, not a login that clears the address.
      run = this.pool.compare(basic.password, hash, source, known !== undefined);
    } catch (e) {
      return Promise.reject(e as Error);
    }
    this.bcryptRuns++;
    const check = run.then(
      (ok) => {
        this.pending.delete(key);
        (ok ? this.good : this.bad).add(key);
        return ok;
      },
      (err: unknown) => {
        this.pending.delete(key); // not a verdict: the next request checks again
        throw err;
      },
    );
    this.pending.set(key, check);
    return check.then((ok) => ok && known !== undefined);
  }

  get cached(): number {
    return this.good.size + this.bad.size;
  }

  /** How long `source` is still blocked for failed password checks (0: not blocked). */
  blockedMs(source: string): number {
    return this.pool.blockedMs(source);
  }
}

/** The position of the token among `tokens`, or -1. */
function tokenIndex(token: string, tokens: string[]): number {
  const digest = createHash('sha256').update(token).digest();
  let found = -1;
  tokens.forEach((t, i) => {
    // Compare digests (equal lengths) in constant time; look at every token.
    if (timingSafeEqual(digest, createHash('sha256').update(t).digest())) found = i;
  });
  return found;
}

/** Who an Authorization header that `authorize` let in names: the user, or the token by its name. */
export function credentialOf(header: string, config: WebConfig): Credential {
  const token = parseBearer(header);
  if (token === undefined) return { kind: 'user', name: parseBasicAuth(header)?.user ?? '' };
  const i = tokenIndex(token, config.bearerTokens);
  return { kind: 'token', name: config.tokenNames[i] || `#${i + 1}` };
}

/** Who was refused, as far as the request says it without a secret: the user name it gave. */
function claimedCredential(header: string | undefined): string {
  if (header === undefined) return 'none';
  if (parseBearer(header) !== undefined) return 'bearer token';
  const basic = parseBasicAuth(header);
  return basic === undefined ? 'malformed' : `user ${goQuote(basic.user)}`;
}

function plainError(
  res: ServerResponse,
  status: number,
  text: string,
  extra: Record<string, string | string[]> = {},
): void {
  const body = text + '\n';
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'X-Content-Type-Options': 'nosniff',
    ...extra,
    'Content-Length': String(Buffer.byteLength(body)),
  });
  res.end(body);
}

/** Wraps a request listener with the web config's auth; `gate` is for the servers' accepts. */
export type WebGuard = ((listener: RequestListener) => RequestListener) & { gate: SourceGate };

export interface GuardOptions {
  /** Paths (exact, the query aside) answered without credentials: --web.probes-without-auth. */
  openPaths?: ReadonlySet<string>;
  /** --log.audit: failed authentications are logged there. */
  audit?: AuditLog;
  /** How the gate for blocked addresses holds its answers (tests make them short). */
  gate?: SourceGateOptions;
}

/**
 * Wraps a request listener as the toolkit's webHandler does: configured headers on every answer,
 * then basic auth (and our bearer tokens) before anything else; 500 while the file is invalid.
 * A request let in carries its credential and what it may do (permissions.ts), which the router
 * checks once it knows what the request does.
 */
export function webConfigGuard(
  source: WebConfigSource,
  log?: Logger,
  auth = new Authenticator(100, new BcryptPool({ log })),
  options: GuardOptions = {},
): WebGuard {
  // Addresses blocked for guessing are answered at the accept (the servers ask `gate`), unless a
  // verified credential came from them (vouched for below).
  const gate = new SourceGate(
    (s) => auth.blockedMs(s),
    () => source.current.config.headers,
    { log, ...options.gate },
  );
  const isOpen = (req: IncomingMessage): boolean => {
    if (options.openPaths === undefined) return false;
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    return options.openPaths.has(q < 0 ? url : url.slice(0, q));
  };
  const wrap = (listener: RequestListener): RequestListener => {
    const deny = (res: ServerResponse, config: WebConfig) => {
      const challenges = [
        ...(config.users.size > 0 ? ['Basic'] : []),
        ...(config.bearerTokens.length > 0 ? ['Bearer'] : []),
      ];
      plainError(res, 401, 'Unauthorized', {
        'WWW-Authenticate': challenges.length === 1 ? challenges[0] : challenges,
      });
    };
    return (req: IncomingMessage, res: ServerResponse) => {
      if (source.error !== undefined) {
        plainError(res, 500, 'Internal Server Error');
        return;
      }
      const config = source.current.config;
      for (const [name, value] of config.headers) res.setHeader(name, value);
      if (config.users.size === 0 && config.bearerTokens.length === 0) {
        listener(req, res);
        return;
      }
      if (isOpen(req)) {
        // Nothing but the probe: the router asks no permission for it, and this grant has none.
        grantRequest(req, ANONYMOUS);
        listener(req, res);
        return;
      }
      const header = req.headers.authorization;
      // Bounds and blocks are per client: an address, or an IPv6 /64 (one host's to choose from).
      const from = sourceOf(req.socket.remoteAddress);
      const admit = () => {
        gate.vouch(from);
        const credential = credentialOf(header!, config);
        const rule = config.permissions === undefined ? EVERYTHING : config.permissions.get(credential.name);
        grantRequest(req, { credential, rule: rule ?? ANONYMOUS.rule });
        listener(req, res);
      };
      const refuse = () => {
        options.audit?.authFailure(req, claimedCredential(header));
        deny(res, config);
      };
      const verdict = auth.authorize(header, config, from);
      if (verdict === true) admit();
      else if (verdict === false) refuse();
      else
        verdict.then(
          (ok) => (ok ? admit() : refuse()),
          (err: unknown) => {
            if (res.headersSent) return;
            // The pool logs its refusals and failures (at most every few seconds under a flood).
            if (err instanceof RetryLaterError) {
              const send = () => {
                // Closed after it: a refused client's next attempt meets the gate at the accept,
                // so keeping its connection open buys a flood nothing.
                if (!res.headersSent && !res.destroyed)
                  plainError(res, err.status, err.message, {
                    'Retry-After': String(err.retryAfterS),
                    Connection: 'close',
                  });
              };
              if (err.holdMs <= 0) send();
              else {
                const timer = setTimeout(send, err.holdMs);
                timer.unref(); // a held refusal is no reason to delay an exit
                res.once('close', () => clearTimeout(timer));
              }
            } else {
              log?.error({ err: String(err) }, 'authentication failed');
              plainError(res, 500, 'Internal Server Error');
            }
          },
        );
    };
  };
  return Object.assign(wrap, { gate });
}

// ---------------------------------------------------------------------------------------------
// The server

/** The answer Go's server writes to plain HTTP sent to its TLS port. */
const HTTP_TO_HTTPS = 'HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n';

/**
 * The SAN values of a certificate as Go lists them: Node's `subjectaltname` is
 * "DNS:a, IP Address:1.2.3.4, email:x@y, URI:spiffe://…".
 */
function sansOf(subjectaltname: string | undefined): string[] {
  if (subjectaltname === undefined || subjectaltname === '') return [];
  return subjectaltname.split(', ').map((entry) => entry.slice(entry.indexOf(':') + 1));
}

/**
 * An HTTPS server when the configuration has TLS, else a plain one, running `listener` (already
 * guarded with webConfigGuard). Certificates, CA, versions, ciphers and the client certificate
 * policy follow the file's changes for new connections.
 */
export function createWebServer(
  source: LiveWebConfig,
  listener: RequestListener,
  log?: Logger,
  options: ServerOptions = {},
): Server | HttpsServer {
  const initial = source.current.tls;
  if (initial === null) {
    source.on('change', (next: LoadedWebConfig) => {
      if (next.tls !== null)
        log?.warn(
          { file: source.file },
          'TLS settings were added to the web config file; they take effect at the next start',
        );
    });
    return createHttpServer({ keepAliveTimeout: 65_000, ...options }, listener);
  }
  const server = createHttpsServer({ ...initial.options, keepAliveTimeout: 65_000, ...options }, listener);
  let policy = initial.clientAuth;
  let allowedSans = initial.allowedSans;
  const tlsServer = server as HttpsServer & { requestCert: boolean; rejectUnauthorized: boolean };
  const onChange = (next: LoadedWebConfig) => {
    if (next.tls === null) {
      log?.warn(
        { file: source.file },
        'TLS settings were removed from the web config file; keeping the previous ones until the next start',
      );
      return;
    }
    try {
      server.setSecureContext(next.tls.options);
    } catch (e) {
      log?.error({ file: source.file, err: String(e) }, 'cannot apply the new TLS settings; keeping the previous ones');
      return;
    }
    // tls.Server reads these for each new connection.
    tlsServer.requestCert = next.tls.options.requestCert;
    tlsServer.rejectUnauthorized = next.tls.options.rejectUnauthorized;
    policy = next.tls.clientAuth;
    allowedSans = next.tls.allowedSans;
  };
  source.on('change', onChange);
  server.on('close', () => source.off('change', onChange));

  // Client certificate policies OpenSSL has no mode for: required but not verified, and verified
  // only when given. (Requested-and-verified is OpenSSL's own; unverified requests need nothing.)
  server.on('secureConnection', (socket: TLSSocket) => {
    const checksSans = allowedSans !== undefined && policy !== 'NoClientCert';
    if (policy !== 'RequireAnyClientCert' && policy !== 'VerifyClientCertIfGiven' && !checksSans) return;
    const peer = socket.getPeerCertificate();
    const given = peer !== null && peer !== undefined && Object.keys(peer).length > 0;
    let reason: string | undefined;
    if (policy === 'RequireAnyClientCert' && !given) reason = "tls: client didn't provide a certificate";
    if (policy === 'VerifyClientCertIfGiven' && given && !socket.authorized)
      reason = `tls: failed to verify client certificate: ${String(socket.authorizationError)}`;
    // As the toolkit's VerifyPeerCertificate: any SAN of the certificate in the allowed list.
    if (
      reason === undefined &&
      checksSans &&
      given &&
      !sansOf(peer.subjectaltname).some((v) => allowedSans!.includes(v))
    )
      reason = `could not find allowed SANs in client cert, found: [${allowedSans!.join(' ')}]`;
    if (reason !== undefined) {
      log?.debug({ remote: socket.remoteAddress, err: reason }, 'TLS handshake error');
      socket.destroy();
    }
  });
  server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: TLSSocket) => {
    log?.debug({ remote: socket.remoteAddress, err: err.message }, 'TLS handshake error');
    // Plain HTTP on the TLS port: the answer Go gives, on the raw connection.
    const raw = (socket as TLSSocket & { _parent?: { writable?: boolean; end?: (s: string) => void } })._parent;
    if (err.code === 'ERR_SSL_HTTP_REQUEST' && raw?.writable === true && typeof raw.end === 'function')
      raw.end(HTTP_TO_HTTPS);
  });
  return server;
}
