import { describeKvm } from './helpers/kvm';
import { runNoah } from './helpers/cli';

describe('noah command line', () => {
  test('--version prints the package version', () => {
    const result = runNoah(['--version']);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^noah version \d+\.\d+\.\d+\n$/);
  });

  test('--help lists the commands', () => {
    const result = runNoah(['--help']);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('run');
    expect(result.stdout).toContain('info');
  });

  test('unknown command exits 125', () => {
    const result = runNoah(['frobnicate']);
    expect(result.status).toBe(125);
    expect(result.stderr).toContain('unknown command "frobnicate"');
  });

  test('unknown flag exits 125', () => {
    const result = runNoah(['info', '--bogus']);
    expect(result.status).toBe(125);
    expect(result.stderr).toContain('unknown flag: --bogus');
  });
});

describeKvm('noah info', () => {
  test('reports KVM usable with the API version', () => {
    const result = runNoah(['info', '--format', 'json'], {
      env: { NOAH_HOME: '/tmp/noah-info-home' },
    });
    expect(result.status).toBe(0);
    const info = JSON.parse(result.stdout);
    expect(info.kvm.usable).toBe(true);
    expect(info.kvm.apiVersion).toBe(12);
    expect(info.store).toBe('/tmp/noah-info-home');
  });

  test('names the store from NOAH_HOME', () => {
    const result = runNoah(['info'], { env: { NOAH_HOME: '/tmp/noah-info-home' } });
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/KVM usable: +yes/);
    expect(result.stdout).toMatch(/KVM API: +12/);
    expect(result.stdout).toContain('/tmp/noah-info-home');
  });
});
