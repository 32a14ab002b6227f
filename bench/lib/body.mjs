// The 1 KiB response body every upstream variant returns.
const LINE = 'outrigger bench payload 0123456789abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ\n';
export const BODY = Buffer.from(LINE.repeat(Math.ceil(1024 / LINE.length)).slice(0, 1023) + '\n');
