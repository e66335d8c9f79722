/** A status condition in the Kubernetes style: what is (not) true, a machine reason, and a sentence. */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

export const degraded = (reason: string, message: string): Condition => ({ type: 'Degraded', status: 'True', reason, message });
