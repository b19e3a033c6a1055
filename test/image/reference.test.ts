import {
  familiarReference,
  formatReference,
  parseReference,
  registryHost,
} from '../../src/image/reference';
import { InvalidReferenceError } from '../../src/image/errors';

const DIGEST = 'sha256:' + 'ab'.repeat(32);

describe('parseReference', () => {
  test.each([
    ['debian', 'docker.io/library/debian:latest'],
    ['debian:12', 'docker.io/library/debian:12'],
    ['library/debian', 'docker.io/library/debian:latest'],
    ['user/app', 'docker.io/user/app:latest'],
    ['docker.io/debian', 'docker.io/library/debian:latest'],
    ['index.docker.io/user/app:v2', 'docker.io/user/app:v2'],
    ['registry:5000/team/app:v1', 'registry:5000/team/app:v1'],
    ['localhost/app', 'localhost/app:latest'],
    ['127.0.0.1:5000/a/b/c:1.0-rc_1', '127.0.0.1:5000/a/b/c:1.0-rc_1'],
    ['[::1]:5000/app', '[::1]:5000/app:latest'],
    [`debian@${DIGEST}`, `docker.io/library/debian@${DIGEST}`],
    [`debian:12@${DIGEST}`, `docker.io/library/debian:12@${DIGEST}`],
    ['my-registry.example.com/x__y/a-b.c:T', 'my-registry.example.com/x__y/a-b.c:T'],
  ])('normalizes %s', (text, expected) => {
    expect(formatReference(parseReference(text))).toBe(expected);
  });

  test('keeps the parts apart', () => {
    const ref = parseReference(`registry:5000/team/app:v1@${DIGEST}`);
    expect(ref.domain).toBe('registry:5000');
    expect(ref.path).toBe('team/app');
    expect(ref.tag).toBe('v1');
    expect(ref.digest).toBe(DIGEST);
  });

  test('digest-only reference has no tag', () => {
    expect(parseReference(`debian@${DIGEST}`).tag).toBeUndefined();
  });

  test.each([
    ['', 'empty reference'],
    ['Debian', 'must be lowercase'],
    ['docker.io/Library/debian', 'must be lowercase'],
    ['debian:', 'invalid tag'],
    ['debian:-x', 'invalid tag'],
    ['debian:' + 'a'.repeat(129), 'invalid tag'],
    ['debian@sha256:abc', 'not a digest'],
    ['debian@md5:' + 'a'.repeat(32), 'not a digest'],
    ['a//b', 'invalid repository name component'],
    ['a/-b', 'invalid repository name component'],
    ['reg:5000/', 'missing repository name'],
    ['bad_host.x:5000/app', 'invalid registry host'],
    ['x/' + 'a'.repeat(260), 'longer than 255'],
  ])('rejects %j', (text, why) => {
    expect(() => parseReference(text)).toThrow(InvalidReferenceError);
    expect(() => parseReference(text)).toThrow(why);
  });
});

describe('reference names', () => {
  test('familiar form drops docker.io/library', () => {
    expect(familiarReference(parseReference('debian'))).toBe('debian:latest');
    expect(familiarReference(parseReference('user/app:1'))).toBe('user/app:1');
    expect(familiarReference(parseReference('localhost:5000/app'))).toBe(
      'localhost:5000/app:latest',
    );
  });

  test('docker.io is served by registry-1.docker.io', () => {
    expect(registryHost('docker.io')).toBe('registry-1.docker.io');
    expect(registryHost('127.0.0.1:5000')).toBe('127.0.0.1:5000');
  });
});
