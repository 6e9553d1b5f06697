package io.jblk.bridge;

import java.util.List;

/**
 * What a driver negotiated with a {@link VirtioBlkDevice}, for diagnostics: the features offered and accepted, the
 * device status, and each queue's geometry and ring indices. {@link VirtioBlkDevice#lastNegotiation()} keeps it after
 * the device is reset (a board reset at poweroff), when the registers already read 0.
 *
 * @param deviceFeatures the features the device offered
 * @param driverFeatures the features the driver accepted with FEATURES_OK
 * @param status         the device status (DeviceStatus bits) when the snapshot was taken
 * @param queues         every queue of the device, configured or not
 */
public record NegotiatedState(long deviceFeatures, long driverFeatures, int status, List<Queue> queues) {
    public NegotiatedState {
        queues = List.copyOf(queues);
    }

    /**
     * One queue as the driver configured it.
     *
     * @param nextAvailIndex the avail index the device would consume next (free-running, 16 bits)
     * @param usedIndex      the used index the device last published
     */
    public record Queue(int index, int size, long descAddress, long driverAddress, long deviceAddress,
                        boolean ready, int nextAvailIndex, int usedIndex) {
    }

    @Override
    public String toString() {
        StringBuilder s = new StringBuilder("features offered 0x").append(Long.toHexString(deviceFeatures))
                .append(" accepted 0x").append(Long.toHexString(driverFeatures)).append(", status 0x")
                .append(Integer.toHexString(status));
        for (Queue q : queues) {
            if (q.ready() || q.nextAvailIndex() != 0 || q.usedIndex() != 0) {
                s.append(String.format(", queue %d: size %d desc 0x%x driver 0x%x device 0x%x%s avail %d used %d",
                        q.index(), q.size(), q.descAddress(), q.driverAddress(), q.deviceAddress(),
                        q.ready() ? " ready" : "", q.nextAvailIndex(), q.usedIndex()));
            }
        }
        return s.toString();
    }
}
