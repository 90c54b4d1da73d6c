// The quick-start app: two tasks, routed to their own queues (Celery's classic for_add / for_subtract example).
import { Celeriac } from 'celeriac';

export const app = new Celeriac('tasks', {
  taskRoutes: {
    'tasks.add': 'for_add',
    'tasks.subtract': 'for_subtract',
  },
});

export const add = app.task('tasks.add', (x: number, y: number) => x + y);
export const subtract = app.task('tasks.subtract', (x: number, y: number) => x - y);
export const hello = app.task('tasks.hello', async (name: string) => `hello, ${name}`);
