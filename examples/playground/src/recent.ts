/** The jobs this browser started, newest first, kept in localStorage (there is no per-user job list yet). */
import { useCallback, useEffect, useState } from 'react';

export interface RecentJob {
  id: string;
  name: string;
  at: string;
}

const KEY = 'ecg-playground-recent';
const MAX = 20;

function load(): RecentJob[] {
  try {
    const value: unknown = JSON.parse(localStorage.getItem(KEY) ?? '[]');
    return Array.isArray(value) ? (value as RecentJob[]).filter((j) => typeof j?.id === 'string') : [];
  } catch {
    return [];
  }
}

export function useRecentJobs() {
  const [jobs, setJobs] = useState<RecentJob[]>(load);
  useEffect(() => {
    // Another tab started a job: show it here too.
    const onStorage = (e: StorageEvent) => e.key === KEY && setJobs(load());
    addEventListener('storage', onStorage);
    return () => removeEventListener('storage', onStorage);
  }, []);
  const remember = useCallback((job: Omit<RecentJob, 'at'>) => {
    setJobs((list) => {
      if (list.some((j) => j.id === job.id)) return list;
      const next = [{ ...job, at: new Date().toISOString() }, ...list].slice(0, MAX);
      localStorage.setItem(KEY, JSON.stringify(next));
      return next;
    });
  }, []);
  const forget = useCallback(() => {
    localStorage.removeItem(KEY);
    setJobs([]);
  }, []);
  return { jobs, remember, forget };
}
