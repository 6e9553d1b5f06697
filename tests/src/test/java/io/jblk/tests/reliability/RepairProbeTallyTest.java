package io.jblk.tests.reliability;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The repair-coverage demand of the crash campaigns: what counts as "the repair path was exercised". */
class RepairProbeTallyTest {

    @Test
    void aRepairWithItsOwnCrashStatesCovers() {
        assertTrue(new RepairProbe.Tally(20, 12, 4, 2, 37).covered(93));
    }

    @Test
    void aRepairWithoutCrashesDuringItDoesNotCover() {
        assertFalse(new RepairProbe.Tally(20, 16, 4, 0, 0).covered(93));
    }

    @Test
    void noRepairCoversOnlyWhenEveryStateWasProbedAndNeededNone() {
        assertTrue(new RepairProbe.Tally(85, 85, 0, 0, 0).covered(85));
        // the sampled-only tally of seed -7046046293025409297: 12 of 85 states probed, the 2 leaky ones missed
        assertFalse(new RepairProbe.Tally(12, 12, 0, 0, 0).covered(85));
        // a state that needed a repair but got none (probed, not needless, not repaired)
        assertFalse(new RepairProbe.Tally(85, 84, 0, 0, 0).covered(85));
    }
}
