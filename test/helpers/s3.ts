import type { S3Client } from '@aws-sdk/client-s3';

/** Names of the S3 commands a client sends, recorded as they go out. */
export function recordCommands(client: S3Client): string[] {
  const sent: string[] = [];
  client.middlewareStack.add(
    (next, context) => (args) => {
      sent.push(context.commandName ?? '?');
      return next(args);
    },
    { step: 'initialize', name: 'recordCommandNames' },
  );
  return sent;
}
