import { spawn, spawnSync } from 'node:child_process';

/**
 * The system browser (RFC 8252 §8.12: an external user agent, never an embedded one): `--browser
 * CMD` (the URL is passed as its last argument, never through a shell string), else `open` on
 * macOS, else `xdg-open` when a graphical session is present. Undefined when there is none.
 */
export function systemBrowser(command: string | undefined, env: NodeJS.ProcessEnv = process.env): ((url: string) => void) | undefined {
  const launch = (file: string, args: string[]) => (url: string) => {
    const child = spawn(file, [...args, url], { stdio: 'ignore', detached: true, env });
    child.on('error', () => {});
    child.unref();
  };
  if (command) return launch('/bin/sh', ['-c', `${command} "$1"`, 'fingerpost-browser']);
  if (process.platform === 'darwin') return launch('open', []);
  if ((env.DISPLAY || env.WAYLAND_DISPLAY) && spawnSync('xdg-open', ['--version'], { stdio: 'ignore' }).status === 0)
    return launch('xdg-open', []);
  return undefined;
}
