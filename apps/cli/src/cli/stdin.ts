/**
 * Reads one line of `input` (without its line break) and leaves the rest for whoever reads
 * next (`strand produce` after `--password-stdin`); '' at the end of input.
 */
export async function readLine(
  input: NodeJS.ReadableStream & { unshift?: (b: Buffer) => void },
): Promise<string> {
  const chunks: Buffer[] = [];
  for (;;) {
    const chunk = await new Promise<Buffer | null>((done) => {
      const data = input.read() as Buffer | string | null;
      if (data !== null) return done(Buffer.from(data));
      const onReadable = () => {
        input.off('end', onEnd);
        done((input.read() as Buffer | null) ?? Buffer.alloc(0));
      };
      const onEnd = () => {
        input.off('readable', onReadable);
        done(null);
      };
      input.once('readable', onReadable);
      input.once('end', onEnd);
    });
    if (chunk === null) return Buffer.concat(chunks).toString('utf8').replace(/\r$/, '');
    const nl = chunk.indexOf(0x0a);
    if (nl < 0) {
      chunks.push(chunk);
      continue;
    }
    chunks.push(chunk.subarray(0, nl));
    const rest = chunk.subarray(nl + 1);
    if (rest.length > 0) input.unshift?.(rest);
    return Buffer.concat(chunks).toString('utf8').replace(/\r$/, '');
  }
}
