import { LayerStatus, PullEvent } from './pull';

/**
 * Writes pull progress as Docker does. On a terminal each layer has one line, redrawn in place
 * with bytes done and total. Elsewhere each layer status change prints one plain line.
 */
export class PullProgressRenderer {
  private readonly order: string[] = [];
  private readonly lines = new Map<string, string>();
  private readonly statuses = new Map<string, LayerStatus>();
  private drawn = 0;
  private lastDraw = 0;

  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly terminal: boolean,
  ) {}

  handle(event: PullEvent): void {
    if (event.kind === 'start') {
      const tag = event.reference.includes('@') ? '' : event.reference.split(':').pop();
      this.out.write(
        `${tag ? `${tag}: ` : ''}Pulling from ${event.reference.replace(/[:@][^/]*$/, '')}\n`,
      );
      return;
    }
    if (event.kind === 'done') {
      this.draw(true);
      this.out.write(`Digest: ${event.digest}\n`);
      this.out.write(
        `Status: ${event.upToDate ? 'Image is up to date' : 'Downloaded newer image'} for ${event.reference}\n`,
      );
      this.out.write(`${event.reference}\n`);
      return;
    }
    if (!this.lines.has(event.id)) this.order.push(event.id);
    const line = `${event.id}: ${event.status}${progressText(event.current, event.total)}`;
    this.lines.set(event.id, line);
    const changed = this.statuses.get(event.id) !== event.status;
    this.statuses.set(event.id, event.status);
    if (!this.terminal) {
      if (changed) this.out.write(`${event.id}: ${event.status}\n`);
      return;
    }
    this.draw(changed);
  }

  private draw(force: boolean): void {
    if (!this.terminal) return;
    const now = Date.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    let text = this.drawn > 0 ? `\x1b[${this.drawn}A` : '';
    for (const id of this.order) text += `\x1b[2K${this.lines.get(id)}\n`;
    this.drawn = this.order.length;
    this.out.write(text);
  }
}

function progressText(current: number | undefined, total: number | undefined): string {
  if (current === undefined || total === undefined || total === 0) return '';
  const width = 50;
  const filled = Math.min(width, Math.floor((current / total) * width));
  const bar =
    '='.repeat(Math.max(0, filled - 1)) + (filled > 0 ? '>' : '') + ' '.repeat(width - filled);
  return ` [${bar}]  ${size(current)}/${size(total)}`;
}

function size(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${Number(value.toPrecision(3))}${units[unit]}`;
}
