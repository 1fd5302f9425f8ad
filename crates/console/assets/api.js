// The console's only way to the gateway: REST under /api/v1 and /auth, and GraphQL, with the
// session's access token; a 401 spends the refresh token once and retries. Errors become
// ApiError with the API's {error:{code,message,details}}.

const storageKey = 'switchboard.session';
let session = JSON.parse(sessionStorage.getItem(storageKey) || 'null');
let refreshing = null;
const listeners = new Set();

/** A refused or failed request, as the API described it. */
export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** The logged-in user, or null. */
export function currentUser() {
  return session && session.user;
}

/** The access token, for the WebSocket. */
export function accessToken() {
  return session && session.tokens.accessToken;
}

/** Calls `listener(user)` whenever the session starts, changes or ends. */
export function onSession(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function store(next) {
  session = next;
  if (next) sessionStorage.setItem(storageKey, JSON.stringify(next));
  else sessionStorage.removeItem(storageKey);
  for (const listener of listeners) listener(currentUser());
}

export async function login(username, password) {
  const answer = await send('POST', '/auth/login', {body: {username, password}, anonymous: true});
  store(answer);
  return answer.user;
}

/** Ends the session: the gateway revokes its refresh token, and this browser forgets both
 * tokens (the access token expires on its own). Forgotten here even if the gateway is away. */
export async function logout() {
  const ending = session;
  store(null);
  if (!ending) return;
  try {
    await send('POST', '/auth/logout', {body: {refreshToken: ending.tokens.refreshToken}, anonymous: true});
  } catch {
    // The session is already gone from this browser; its refresh token expires in time.
  }
}

/** Trades the refresh token for a new pair; one at a time however many requests ask. */
export function refresh() {
  if (!session) return Promise.reject(new ApiError(401, 'unauthorized', 'Please log in.'));
  refreshing ||= send('POST', '/auth/refresh', {
    body: {refreshToken: session.tokens.refreshToken}, anonymous: true,
  }).then((answer) => store({tokens: answer.tokens, user: answer.user || session.user}),
    (error) => { store(null); throw error; })
    .finally(() => { refreshing = null; });
  return refreshing;
}

/** One request; `options`: body (JSON, or a string/Blob sent as is with `contentType`), query,
 * accept, raw (return the Response). */
export async function send(method, path, options = {}) {
  const url = new URL(path, location.origin);
  for (const [name, value] of Object.entries(options.query || {})) {
    if (value !== undefined && value !== null && value !== '') url.searchParams.set(name, value);
  }
  const headers = {accept: options.accept || 'application/json'};
  let body;
  if (options.body !== undefined) {
    if (typeof options.body === 'string' || options.body instanceof Blob) {
      body = options.body;
      headers['content-type'] = options.contentType || 'text/plain';
    } else {
      body = JSON.stringify(options.body);
      headers['content-type'] = 'application/json';
    }
  }
  if (!options.anonymous && session) headers.authorization = `Bearer ${session.tokens.accessToken}`;
  let response;
  try {
    response = await fetch(url, {method, headers, body});
  } catch (error) {
    throw new ApiError(0, 'network', `The gateway could not be reached (${error.message}).`);
  }
  if (response.status === 401 && !options.anonymous && !options.retried && session) {
    await refresh();
    return send(method, path, {...options, retried: true});
  }
  if (!response.ok) throw await problem(response);
  if (options.raw) return response;
  if (response.status === 204) return null;
  const type = response.headers.get('content-type') || '';
  return type.includes('json') ? response.json() : response.text();
}

async function problem(response) {
  let body = null;
  try { body = await response.json(); } catch { /* not JSON */ }
  const error = body && body.error;
  if (error) return new ApiError(response.status, error.code, error.message, error.details);
  return new ApiError(response.status, `http_${response.status}`, response.statusText || 'Request failed');
}

export const get = (path, query) => send('GET', path, {query});
export const post = (path, body, query) => send('POST', path, {body, query});
export const patch = (path, body) => send('PATCH', path, {body});
export const remove = (path) => send('DELETE', path);

/** Every page of a list, up to `limit` rows. */
export async function all(path, query = {}, limit = 1000) {
  const rows = [];
  let cursor;
  do {
    const page = await get(path, {...query, limit: Math.min(200, limit - rows.length), cursor});
    rows.push(...page.data);
    cursor = page.nextCursor;
  } while (cursor && rows.length < limit);
  return rows;
}

/** A GraphQL query or mutation; errors carry REST's codes from `extensions.code`. With
 * `partial`, fields refused to this caller are left null and the rest is returned. */
export async function graphql(query, variables = {}, {partial = false} = {}) {
  const answer = await send('POST', '/graphql', {body: {query, variables}});
  const usable = partial && answer.data && Object.values(answer.data).every((value) => value !== null);
  if (answer.errors && answer.errors.length && !usable) {
    const first = answer.errors[0];
    throw new ApiError(200, (first.extensions && first.extensions.code) || 'graphql', first.message,
      first.extensions && first.extensions.details);
  }
  return answer.data;
}
