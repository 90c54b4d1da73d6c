/** Identifier helpers: task ids are RFC 4122 v4 uuids, as Celery makes them. */
import { randomUUID } from 'node:crypto';

export type IdFactory = () => string;

export const uuid: IdFactory = () => randomUUID();
