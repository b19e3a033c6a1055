/**
 * Go templates through the CLI: `inspect -f` on containers and images, `ps --format` and
 * `images --format` with and without the table header, and the errors Docker gives.
 */
import { Template } from '../../src/cli/template';
import { describeKvm } from '../helpers/kvm';
import { testRegistryImage } from '../helpers/registry';
import { NoahHome } from './noah';

let home: NoahHome;
let debian: string;

describe('Template', () => {
  const data = {
    Id: 'abc',
    State: { Status: 'running', Pid: 42, Running: true },
    Config: { Env: ['A=1', 'B=2'], Cmd: null, Labels: { z: '1', a: '2' } },
    Ports: [{ HostPort: '8080' }],
  };
  const cases: [string, string][] = [
    ['{{.State.Status}}', 'running'],
    ['{{.State.Pid}} {{.State.Running}}', '42 true'],
    ['{{.Config.Env}}', '[A=1 B=2]'],
    ['{{.Config.Labels}}', 'map[a:2 z:1]'],
    ['{{.Config.Cmd}}', '<nil>'],
    ['{{json .Config.Env}}', '["A=1","B=2"]'],
    ['{{.Config.Env | json}}', '["A=1","B=2"]'],
    ['{{range .Config.Env}}{{.}}{{"\\n"}}{{end}}', 'A=1\nB=2\n'],
    ['{{range .Config.Cmd}}x{{else}}none{{end}}', 'none'],
    ['{{index .Config.Env 1}} {{index .Config.Labels "a"}}', 'B=2 2'],
    ['{{join .Config.Env ","}}', 'A=1,B=2'],
    ['{{if .State.Running}}up{{else}}down{{end}}', 'up'],
    ['{{with .State}}{{.Status}}{{end}}', 'running'],
    ['{{range .Config.Env -}} [{{.}}] {{- end}}', '[A=1][B=2]'],
    ['{{range .Config.Env -}}\n  [{{.}}]\n{{-\tend}}', '[A=1][B=2]'],
    ['{{range .Config.Env}}{{$.Id}}{{end}}', 'abcabc'],
    ['{{len .Config.Env}} {{upper .Id}} {{(index .Config.Env 0)}}', '2 ABC A=1'],
    ['{{printf "%s=%d" .Id .State.Pid}}', 'abc=42'],
    ['{{if eq .State.Status "running"}}yes{{end}}', 'yes'],
    ['{{/* a comment */}}text', 'text'],
    ['{{$id := .Id}}{{range .Config.Env}}{{$id}}{{end}}', 'abcabc'],
    ['{{range $key, $value := .Config.Labels}}{{$key}}={{$value}};{{end}}', 'a=2;z=1;'],
    ['{{range $i, $e := .Config.Env}}{{$i}}:{{$e}} {{end}}', '0:A=1 1:B=2 '],
    ['{{range $e := .Config.Env}}{{$e}}{{end}}', 'A=1B=2'],
    ['{{with $s := .State}}{{$s.Status}}{{end}}', 'running'],
    ['{{(index .Ports 0).HostPort}}', '8080'],
  ];
  test.each(cases)('%s', (text, expected) => {
    expect(Template.parse(text).execute(data)).toBe(expected);
  });

  test('missing fields fail as Go does', () => {
    expect(() => Template.parse('{{.Foo}}').execute(data)).toThrow(
      'template: :1:2: executing "" at <.Foo>: map has no entry for key "Foo"',
    );
    expect(() => Template.parse('x {{.State.Nope}}').execute(data)).toThrow(
      'template: :1:4: executing "" at <.State.Nope>: map has no entry for key "Nope"',
    );
    expect(() => Template.parse('{{.Id.Foo}}').execute(data)).toThrow(
      "can't evaluate field Foo in type string",
    );
    expect(() => Template.parse('{{$nope}}').execute(data)).toThrow(
      'template: :1:2: executing "" at <$nope>: undefined variable: $nope',
    );
    expect(() => Template.parse('{{index .Config.Env 9}}').execute(data)).toThrow(
      'error calling index: index out of range: 9',
    );
  });

  test('syntax errors fail to parse', () => {
    expect(() => Template.parse('{{.Id')).toThrow('template: :1: unclosed action');
    expect(() => Template.parse('{{nosuch .Id}}')).toThrow('function "nosuch" not defined');
    expect(() => Template.parse('{{range .X}}')).toThrow('unexpected EOF');
    expect(() => Template.parse('{{end}}')).toThrow('unexpected {{end}}');
    expect(() => Template.parse('{{.A .B}}')).toThrow('unexpected ".B" in operand');
  });

  test('a header row keeps column titles', () => {
    const headers = { ID: 'CONTAINER ID', Names: 'NAMES' };
    expect(Template.parse('{{.ID}}\t{{json .Names}}').executeHeader(headers)).toBe(
      'CONTAINER ID\tNAMES',
    );
  });
});

describeKvm('--format templates', () => {
  beforeAll(() => {
    home = new NoahHome('format');
    debian = testRegistryImage('debian').reference;
    expect(home.run(['pull', debian]).status).toBe(0);
  });

  afterAll(() => {
    home.run(['rm', '-f', ...home.containerIds()]);
    home.remove();
  });

  test('inspect -f on a running container', () => {
    const run = home.run([
      'run',
      '-d',
      '--name',
      'formatted',
      '-e',
      'FROM_RUN=yes',
      '--entrypoint',
      'sh',
      debian,
      '-c',
      'sleep 60',
    ]);
    expect(run.status).toBe(0);
    const id = run.stdout.trim();
    const status = home.run([
      'inspect',
      '-f',
      '{{.State.Status}} {{.State.ExitCode}}',
      'formatted',
    ]);
    expect(status.stderr).toBe('');
    expect(status.stdout).toBe('running 0\n');
    expect(home.run(['inspect', '--format', '{{.Id}} {{.Name}}', 'formatted']).stdout).toBe(
      `${id} /formatted\n`,
    );
    const pid = home.run(['inspect', '-f', '{{.State.Pid}}', 'formatted']).stdout;
    expect(Number(pid)).toBeGreaterThan(0);
    const env = home.run([
      'inspect',
      '-f',
      '{{range .Config.Env}}{{.}}{{"\\n"}}{{end}}',
      'formatted',
    ]);
    expect(env.stdout.split('\n')).toContain('FROM_RUN=yes');
    const json = home.run(['inspect', '-f', '{{json .Config}}', 'formatted']);
    expect(JSON.parse(json.stdout)).toMatchObject({ Entrypoint: ['sh'], Cmd: ['-c', 'sleep 60'] });
    expect(home.run(['inspect', '-f', '{{.Config.Env}}', 'formatted']).stdout).toMatch(
      /^\[PATH=\S+ .*FROM_RUN=yes.*\]\n$/,
    );
    expect(home.run(['rm', '-f', 'formatted']).status).toBe(0);
  });

  test('inspect -f on several objects and on an image', () => {
    expect(home.run(['create', '--name', 'made', debian]).status).toBe(0);
    const both = home.run(['inspect', '-f', '{{.State.Status}}', 'made', 'made']);
    expect(both.stdout).toBe('created\ncreated\n');
    const image = home.run(['inspect', '-f', '{{index .Config.Env 1}}', debian]);
    expect(image.stderr).toBe('');
    expect(image.stdout).toBe('NOAH_FIXTURE=debian\n');
    const viaImage = home.run(['image', 'inspect', '-f', '{{len .RepoTags}}', debian]);
    expect(viaImage.stdout).toBe('1\n');
    const oneLine = home.run(['inspect', '--format', 'json', 'made']);
    expect(oneLine.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(oneLine.stdout)[0].Name).toBe('/made');
    expect(home.run(['rm', 'made']).status).toBe(0);
  });

  test('inspect -f errors: unknown field 1, bad syntax 64', () => {
    expect(home.run(['create', '--name', 'bad-format', debian]).status).toBe(0);
    const missing = home.run(['inspect', '-f', '{{.Foo}}', 'bad-format']);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe(
      'noah: template parsing error: template: :1:2: executing "" at <.Foo>: ' +
        'map has no entry for key "Foo"\n',
    );
    const syntax = home.run(['inspect', '-f', '{{.State', 'bad-format']);
    expect(syntax.status).toBe(64);
    expect(syntax.stderr).toBe('noah: template parsing error: template: :1: unclosed action\n');
    expect(syntax.stdout).toBe('');
    const unknown = home.run(['inspect', '-f', '{{.Id}}', 'no-such-thing']);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toBe('noah: No such object: no-such-thing\n');
    expect(home.run(['rm', 'bad-format']).status).toBe(0);
  });

  test('ps --format with a template and a table', () => {
    const made = home.run(['create', '--name', 'listed', debian]);
    const id = made.stdout.trim().slice(0, 12);
    const plain = home.run(['ps', '-a', '--format', '{{.ID}}\\t{{.Names}} {{.State}}']);
    expect(plain.stderr).toBe('');
    expect(plain.stdout).toBe(`${id}\tlisted created\n`);
    const table = home.run(['ps', '-a', '--format', 'table {{.ID}}\\t{{.Names}}\\t{{.Status}}']);
    expect(table.stdout).toBe(`CONTAINER ID   NAMES     STATUS\n${id}   listed    Created\n`);
    const quiet = home.run(['ps', '-a', '-q', '--format', '{{.Names}}']);
    expect(quiet.stdout).toBe(`${id}\n`);
    const bad = home.run(['ps', '-a', '--format', '{{.Nope}}']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/map has no entry for key "Nope"/);
    expect(home.run(['rm', 'listed']).status).toBe(0);
  });

  test('images --format with a template and a table', () => {
    const colon = debian.lastIndexOf(':');
    const listed = home.run(['images', '--format', '{{.Repository}}:{{.Tag}}']);
    expect(listed.stderr).toBe('');
    expect(listed.stdout).toBe(`${debian}\n`);
    const table = home.run(['images', '--format', 'table {{.Tag}}\\t{{.Size}}']);
    const [header, row] = table.stdout.split('\n');
    expect(header).toMatch(/^TAG {3,}SIZE$/);
    expect(row).toMatch(new RegExp(`^${debian.slice(colon + 1)} {3,}[0-9.]+[kMG]?B$`));
  });
});
