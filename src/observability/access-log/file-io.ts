// The file operations an access-log file needs, over node:fs (tests inject a slow or failing
// one). Opening is synchronous — it happens when a snapshot is compiled, off the data path —
// and never blocks on a FIFO without a reader (opened read-write, non-blocking).

import { closeSync, constants, fstatSync, openSync, statSync, write } from "node:fs";

export interface OpenedFile {
  fd: number;
  /** Pipe, FIFO, socket or terminal: writes are kept to PIPE_BUF so lines never interleave. */
  pipe: boolean;
  /** false for the process's stdout/stderr, which are never closed or reopened. */
  owned: boolean;
}

export interface FileIo {
  open(path: string): OpenedFile;
  write(fd: number, buf: Buffer, offset: number, length: number, cb: (err: NodeJS.ErrnoException | null, written: number) => void): void;
  close(fd: number): void;
}

function pipeLike(fd: number): boolean {
  const st = fstatSync(fd);
  return st.isFIFO() || st.isSocket() || st.isCharacterDevice();
}

export const nodeFileIo: FileIo = {
  open(path) {
    // Envoy writes /dev/stdout and /dev/stderr through the process's own descriptors.
    if (path === "/dev/stdout") return { fd: 1, pipe: pipeLike(1), owned: false };
    if (path === "/dev/stderr") return { fd: 2, pipe: pipeLike(2), owned: false };
    let fifo = false;
    try {
      fifo = statSync(path).isFIFO();
    } catch {
      // Absent: created below.
    }
    // A FIFO opened write-only blocks until a reader comes; read-write never blocks on Linux,
    // and non-blocking turns a full pipe into EAGAIN instead of a stuck thread-pool thread.
    const flags = fifo ? constants.O_RDWR | constants.O_NONBLOCK : constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT;
    const fd = openSync(path, flags, 0o644);
    return { fd, pipe: fifo || pipeLike(fd), owned: true };
  },
  write(fd, buf, offset, length, cb) {
    write(fd, buf, offset, length, null, cb);
  },
  close(fd) {
    try {
      closeSync(fd);
    } catch {
      // Already closed: nothing to do.
    }
  },
};
