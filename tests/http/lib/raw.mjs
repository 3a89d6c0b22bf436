// raw.mjs - HTTP/1.x over a plain node:net socket, for requests that fetch()
// refuses to send: NUL bytes and floods in headers, conflicting framing,
// absolute-form targets, HTTP/1.0, invalid methods, requests written byte by
// byte or cut off in the middle.  Every exchange is bounded by a timeout, so a
// server that hangs fails the test instead of hanging the run.
//
//   const r = await rawExchange(port, 'GET /fhir/metadata HTTP/1.1\r\nHost: x\r\n\r\n');
//   r.kind            // 'response' | 'closed' | 'timeout'
//   r.status, r.headers (lower-case names), r.body (Buffer), r.closed (the server closed)
import net from 'node:net';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Parses one HTTP response from the front of buf.  Returns null while incomplete;
// {status, headers, body, rest} when complete (without Content-Length or chunking,
// complete only when `ended`: the body runs to the close).
export function parseResponse(buf, { head = false, ended = false } = {}) {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const m = lines[0].match(/^HTTP\/1\.[01] (\d{3})/);
  if (!m) throw new Error(`not an HTTP response: ${JSON.stringify(lines[0].slice(0, 100))}`);
  const headers = {};
  for (const line of lines.slice(1)) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  const status = Number(m[1]);
  let at = end + 4;
  // An interim answer (100 Continue) comes before the real one: skip it.
  if (status >= 100 && status < 200) return parseResponse(buf.subarray(at), { head, ended });
  if (head || status === 204 || status === 304) {
    return { status, headers, body: Buffer.alloc(0), rest: buf.subarray(at) };
  }
  if (/chunked/i.test(headers['transfer-encoding'] || '')) {
    const parts = [];
    for (;;) {
      const eol = buf.indexOf('\r\n', at);
      if (eol < 0) return null;
      const size = parseInt(buf.subarray(at, eol).toString('latin1'), 16);
      if (Number.isNaN(size)) throw new Error('bad chunk size in the response');
      if (buf.length < eol + 2 + size + 2) return null;
      if (size === 0) {
        const trailerEnd = buf.indexOf('\r\n', eol + 2);
        if (trailerEnd < 0) return null;
        return { status, headers, body: Buffer.concat(parts), rest: buf.subarray(trailerEnd + 2) };
      }
      parts.push(buf.subarray(eol + 2, eol + 2 + size));
      at = eol + 2 + size + 2;
    }
  }
  if (headers['content-length'] !== undefined) {
    const n = Number(headers['content-length']);
    if (buf.length < at + n) return null;
    return { status, headers, body: buf.subarray(at, at + n), rest: buf.subarray(at + n) };
  }
  if (!ended) return null;
  return { status, headers, body: buf.subarray(at), rest: Buffer.alloc(0) };
}

// Sends `parts` (strings are latin1 bytes, or Buffers) on a new connection, pausing
// pauseMs between parts, then reads until the server has answered and (with
// untilClose) closed the connection, or timeoutMs passes.
//   options: pauseMs, timeoutMs (10000), untilClose (false), head (a HEAD request),
//            halfClose (end our side after writing), abortAfterWrite (destroy the
//            socket once everything is written, without waiting for an answer)
export function rawExchange(port, parts, options = {}) {
  const { pauseMs = 0, timeoutMs = 10000, untilClose = false, head = false, halfClose = false, abortAfterWrite = false } = options;
  const list = (Array.isArray(parts) ? parts : [parts]).map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p, 'latin1')));
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    let buf = Buffer.alloc(0);
    let done = false;
    let response = null;
    let wroteAll = false;
    const finish = (result) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ ...result, wroteAll, raw: buf });
    };
    const timer = setTimeout(() => finish(response ? { kind: 'response', ...response, closed: false, timedOutWaitingForClose: true } : { kind: 'timeout' }), timeoutMs);
    const tryParse = (ended) => {
      if (response) return;
      let r;
      try {
        r = parseResponse(buf, { head, ended });
      } catch (e) {
        finish({ kind: 'garbage', error: e.message });
        return;
      }
      if (r) response = { status: r.status, headers: r.headers, body: r.body, text: r.body.toString('utf8') };
    };
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      tryParse(false);
      if (response && !untilClose) finish({ kind: 'response', ...response, closed: false });
    });
    const onEnd = () => {
      tryParse(true);
      finish(response ? { kind: 'response', ...response, closed: true } : { kind: 'closed', partial: buf.length > 0 });
    };
    sock.on('end', onEnd);
    sock.on('close', onEnd);
    sock.on('error', () => onEnd()); // ECONNRESET, EPIPE: the server closed on us
    sock.on('connect', async () => {
      for (let i = 0; i < list.length && !done; i++) {
        if (i > 0 && pauseMs) await sleep(pauseMs);
        if (done || sock.destroyed) return;
        const ok = sock.write(list[i]);
        if (!ok) await new Promise((r) => { sock.once('drain', r); sock.once('close', r); });
      }
      wroteAll = !done && !sock.destroyed;
      if (abortAfterWrite) {
        finish({ kind: 'aborted' });
        return;
      }
      if (halfClose && !done && !sock.destroyed) sock.end();
    });
  });
}

// A request as bytes: method, target, headers as [name, value] pairs (in order,
// duplicates allowed), body (string or Buffer); version defaults to HTTP/1.1.
// Adds Host unless a host header is given or noHost is set, and Content-Length for
// a body unless the caller frames it (any content-length or transfer-encoding).
export function buildRequest({ method = 'GET', target = '/', version = 'HTTP/1.1', headers = [], body, noHost = false, close = true }) {
  const hs = [...headers];
  const has = (n) => hs.some(([k]) => k.toLowerCase() === n);
  if (!noHost && !has('host')) hs.unshift(['Host', '127.0.0.1']);
  const bodyBuf = body === undefined ? null : Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
  if (bodyBuf && !has('content-length') && !has('transfer-encoding')) hs.push(['Content-Length', String(bodyBuf.length)]);
  if (close && !has('connection')) hs.push(['Connection', 'close']);
  const head = Buffer.from(`${method} ${target} ${version}\r\n${hs.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`, 'latin1');
  return bodyBuf ? Buffer.concat([head, bodyBuf]) : head;
}
