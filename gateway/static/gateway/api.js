// The HTTP side of the wire contract (API.md §1-§4): the {code, msg, data} envelope, the JWT
// pair kept in sessionStorage (per tab, gone with it), and one refresh on a 401.

const SESSION_KEY = 'chat.session';

export class ApiError extends Error {
  /** status 0 means the server could not be reached at all. */
  constructor(status, message, errors = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.errors = errors;
  }

  /** One readable line: the server's msg (which already sums up field errors), else the
   * field errors themselves. */
  describe() {
    if (this.message || !this.errors) return this.message;
    return Object.entries(this.errors)
      .map(([field, reasons]) => `${field}: ${[].concat(reasons).join(', ')}`)
      .join('; ');
  }
}

function decodeJwtPayload(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), '=')));
  } catch {
    return {};
  }
}

export class Api {
  constructor({ storage = window.sessionStorage, onLogout = () => {} } = {}) {
    this.storage = storage;
    this.onLogout = onLogout;
    this.refreshing = null;
    try {
      this.session = JSON.parse(storage.getItem(SESSION_KEY) || 'null');
    } catch {
      this.session = null;
    }
  }

  get loggedIn() {
    return Boolean(this.session && this.session.token);
  }

  saveSession(session) {
    this.session = session;
    this.storage.setItem(SESSION_KEY, JSON.stringify(session));
  }

  logout(reason = '') {
    this.session = null;
    this.storage.removeItem(SESSION_KEY);
    this.onLogout(reason);
  }

  async login(username, password) {
    const data = await this.request('POST', '/login', { body: { username, password }, auth: false });
    this.saveSession({ token: data.token, refresh: data.refresh, user_id: data.user_id, username: data.username });
    return data;
  }

  /**
   * A new access token from the refresh token. Resolves true when renewed, false when the
   * server refused the refresh token (the session is over); rejects with status 0 offline.
   * Concurrent callers share one request.
   */
  refreshToken() {
    if (!this.refreshing) {
      const refresh = this.session?.refresh;
      this.refreshing = (async () => {
        if (!refresh) return false;
        try {
          const data = await this.request('POST', '/api/token/refresh', { body: { refresh }, auth: false });
          if (!this.session) return false;
          // Refresh tokens work once: keep the new one the server answers with.
          this.saveSession({ ...this.session, token: data.token, refresh: data.refresh ?? this.session.refresh });
          return true;
        } catch (error) {
          if (error.status === 0) throw error;
          return false;
        }
      })().finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  /** Renew the access token if it expires within `marginSeconds` (before opening a socket). */
  async ensureFreshToken(marginSeconds = 60) {
    if (!this.session) return false;
    const { exp } = decodeJwtPayload(this.session.token);
    if (typeof exp === 'number' && exp - marginSeconds > Date.now() / 1000) return true;
    const renewed = await this.refreshToken();
    if (!renewed) this.logout('Your session has expired. Please log in again.');
    return renewed;
  }

  /** One call; resolves with `data` (an object) or rejects with an ApiError. */
  async request(method, path, { body, query, auth = true, retry = true } = {}) {
    const url = new URL(path, window.location.origin);
    for (const [key, value] of Object.entries(query || {})) {
      if (value !== undefined && value !== null && value !== '') url.searchParams.set(key, String(value));
    }
    const headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const usedToken = auth ? this.session?.token : undefined;
    if (usedToken) headers.Authorization = `Bearer ${usedToken}`;
    let response;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'omit',
        cache: 'no-store',
      });
    } catch {
      throw new ApiError(0, 'The server cannot be reached. Check your connection and try again.');
    }
    let envelope = null;
    try {
      envelope = await response.json();
    } catch {
      envelope = null;
    }
    if (response.status === 401 && usedToken && retry) {
      // Another call may have renewed the token meanwhile; else renew it now, once.
      const renewed = this.session?.token !== usedToken || (await this.refreshToken());
      if (renewed) return this.request(method, path, { body, query, auth, retry: false });
      this.logout('Your session has expired. Please log in again.');
    }
    if (!response.ok || !envelope || envelope.code !== 0) {
      const msg = envelope?.msg || `The server answered ${response.status}.`;
      throw new ApiError(response.status, msg, envelope?.errors || null);
    }
    return envelope.data || {};
  }

  get(path, query) {
    return this.request('GET', path, { query });
  }

  post(path, body) {
    return this.request('POST', path, { body });
  }
}
