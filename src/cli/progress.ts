/**
 * A progress reporter for long commands: on a terminal one stderr line rewritten in place, else a
 * line each time a new tenth of `total` is reached (a log file stays short). Stdout stays for results.
 */
export function progressLine(): (label: string, done: number, total: number, detail?: string) => void {
  const tty = process.stderr.isTTY;
  let last = '';
  return (label, done, total, detail = '') => {
    const line = `${label}: ${done}/${total}${detail ? `, ${detail}` : ''}`;
    if (tty) {
      process.stderr.write(`\r\x1b[2K${line}${done >= total ? '\n' : ''}`);
      return;
    }
    const step = `${label}:${Math.floor((done * 10) / Math.max(1, total))}`;
    if (step === last) return;
    last = step;
    process.stderr.write(`${line}\n`);
  };
}
