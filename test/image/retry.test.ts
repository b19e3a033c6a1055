/**
 * The registry client's retry decision, with attempts that fail without network traffic: a
 * failed DNS lookup fails at once, and a dropped connection is retried.
 */
import * as fs from 'node:fs';

import { RegistryError } from '../../src/image/errors';
import { isLookupError, RegistryClient } from '../../src/image/registry';
import { temporaryDir } from './layers';

let home: string;

beforeAll(() => {
  home = temporaryDir('retry');
});

afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

/** Builds a failed connect as undici reports it: a TypeError whose cause has the code. */
function connectError(code: string, syscall: string): Error {
  const cause = Object.assign(new Error(`${syscall} ${code} no-such-host.invalid`), {
    code,
    syscall,
  });
  return new TypeError('fetch failed', { cause });
}

describe('registry retries', () => {
  test.each(['ENOTFOUND', 'EAI_AGAIN'])('%s fails on the first attempt', async (code) => {
    const client = new RegistryClient('no-such-host.invalid', {
      home,
      retries: 4,
      retryDelayMs: 1000,
    });
    let attempts = 0;
    const started = Date.now();
    const result = client.retrying('GET https://no-such-host.invalid/v2/', async () => {
      attempts++;
      throw connectError(code, 'getaddrinfo');
    });
    await expect(result).rejects.toThrow(RegistryError);
    await expect(result).rejects.toThrow(
      /^cannot resolve registry host no-such-host\.invalid .*check the image name/,
    );
    expect(attempts).toBe(1);
    expect(Date.now() - started).toBeLessThan(500);
    await client.close();
  });

  test('a dropped connection is retried', async () => {
    const client = new RegistryClient('127.0.0.1:1', { home, retries: 2, retryDelayMs: 1 });
    let attempts = 0;
    const result = client.retrying('GET http://127.0.0.1:1/v2/', async () => {
      attempts++;
      throw connectError('ECONNRESET', 'read');
    });
    await expect(result).rejects.toThrow(/cannot reach registry 127\.0\.0\.1:1/);
    expect(attempts).toBe(3);
    await client.close();
  });

  test('isLookupError looks through causes', () => {
    expect(isLookupError(connectError('ENOTFOUND', 'getaddrinfo'))).toBe(true);
    expect(isLookupError(connectError('ECONNREFUSED', 'connect'))).toBe(false);
    expect(isLookupError('ENOTFOUND')).toBe(false);
  });
});
