/** The five task types of the API document (§2.3.1 TaskType) and their gRPC enum numbers. */
export const TASK_TYPES = ['txt2embed', 'img2embed', 'txt2img', 'img2txt', 'txt2txt'] as const;
export type TaskType = (typeof TASK_TYPES)[number];

/** The tasks whose input is an image (the others take text): image-sized bodies and messages. */
export const IMAGE_INPUT_TASKS: readonly TaskType[] = ['img2embed', 'img2txt'];

export function takesImages(task: TaskType): boolean {
  return IMAGE_INPUT_TASKS.includes(task);
}

export function isTaskType(value: unknown): value is TaskType {
  return typeof value === 'string' && (TASK_TYPES as readonly string[]).includes(value);
}

/** proto enum TaskType: TASK_TYPE_TXT2EMBED = 1 ... TASK_TYPE_TXT2TXT = 5. */
export function taskTypeToProto(task: TaskType): number {
  return TASK_TYPES.indexOf(task) + 1;
}

export function taskTypeFromProto(value: number): TaskType | undefined {
  return TASK_TYPES[value - 1];
}

export const PRIORITIES = ['high', 'medium', 'low'] as const;
export type Priority = (typeof PRIORITIES)[number];

export function isPriority(value: unknown): value is Priority {
  return typeof value === 'string' && (PRIORITIES as readonly string[]).includes(value);
}
