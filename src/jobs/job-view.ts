import type { JobView } from '../domain/jobs.js';
import { isFinished, type JobSummary } from './job-store.js';

/** A stored job as the API shows it (JobStatusResponse): ISO times, progress 100 once completed. */
export function toJobView(record: JobSummary): JobView {
  const view: JobView = {
    job_id: record.id,
    model_id: record.modelId,
    status: record.status,
    progress: record.status === 'completed' ? 100 : record.progress,
    priority: record.priority,
    created_at: new Date(record.createdAt).toISOString(),
  };
  if (record.startedAt !== undefined) view.started_at = new Date(record.startedAt).toISOString();
  if (record.completedAt !== undefined && isFinished(record.status)) view.completed_at = new Date(record.completedAt).toISOString();
  if (record.error !== undefined && record.status !== 'completed') view.error = { error_code: record.error.error_code, message: record.error.message };
  return view;
}
