// What a deployment knows about each of its nodes: the `progress` query's answer, the
// per-node table of the Temporal UI's current details, and the outcome in its result and
// record. The table is redrawn once per workflow activation however many nodes changed in
// it, so a wide deployment does not redraw thousands of rows for every node.
import { setCurrentDetails } from '@temporalio/workflow';
import type { CheckResult } from '../src/core/deployment-tests';
import type { NodeState } from '../src/core/node-states';
import type { Phase } from '../src/core/schemas/event';
import type { LivePhase } from '../src/core/live-events';
import type { DeploymentProgress, NodeOutcome } from './definitions';
import { progressDetails } from './details';

/** The board in the input of a run that continues as new: plain states by id, messages only where they say more than the state. */
export interface CarriedBoard {
  phase: Phase;
  plain: Partial<Record<NodeState, string[]>>;
  noted: Record<string, { state: NodeState; message: string }>;
}

const PLAIN: readonly NodeState[] = ['Pending', 'Healthy'];

export class NodeBoard {
  phase: Phase = 'Accepted';
  readonly nodes: DeploymentProgress['nodes'] = {};
  private redraw = false;

  /** `checks`: the node's configuration check and tests, once they ran; kept while the node's state changes later (a rollback). */
  set(node: string, state: NodeState, message: string, checks?: CheckResult[]): void {
    const kept = checks ?? this.nodes[node]?.checks;
    this.nodes[node] = { state, message, ...(kept !== undefined && kept.length > 0 ? { checks: kept } : {}) };
    this.changed();
  }

  /**
   * What a node's step relayed last (its phase and what it said), while the node's state stays:
   * `deployer status` shows it without asking the node's workflow, which cannot answer while a
   * step holds its workflow task (up to its task timeout). Cleared by the node's next `set`.
   */
  live(node: string, phase: LivePhase, message: string): void {
    const entry = this.nodes[node];
    if (entry === undefined) return;
    this.nodes[node] = { ...entry, phase, message };
    this.changed();
  }

  private changed(): void {
    if (this.redraw) return;
    this.redraw = true;
    // No command is issued here, so running it a microtask later cannot reorder commands.
    void Promise.resolve().then(() => {
      this.redraw = false;
      setCurrentDetails(progressDetails(this.nodes));
    });
  }

  state(node: string): NodeState | undefined {
    return this.nodes[node]?.state;
  }

  progress(): DeploymentProgress {
    return { phase: this.phase, nodes: this.nodes };
  }

  outcomes(): Record<string, NodeOutcome> {
    return Object.fromEntries(Object.entries(this.nodes).map(([node, { state, message, checks }]) => [node, { state, reason: message, ...(checks !== undefined ? { checks } : {}) }]));
  }

  carry(): CarriedBoard {
    const plain: Partial<Record<NodeState, string[]>> = {};
    const noted: CarriedBoard['noted'] = {};
    for (const [node, entry] of Object.entries(this.nodes)) {
      if (PLAIN.includes(entry.state)) (plain[entry.state] ??= []).push(node);
      else noted[node] = entry;
    }
    return { phase: this.phase, plain, noted };
  }

  static from(carried: CarriedBoard): NodeBoard {
    const board = new NodeBoard();
    board.phase = carried.phase;
    for (const [state, ids] of Object.entries(carried.plain) as [NodeState, string[]][]) {
      for (const id of ids) board.nodes[id] = { state, message: state === 'Healthy' ? 'healthy' : 'waiting' };
    }
    Object.assign(board.nodes, carried.noted);
    return board;
  }
}
