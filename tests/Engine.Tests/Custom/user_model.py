"""A user's own PyTorch model, as people write them, for the bring-your-own-model tests:
modules and functional calls, a residual sum, a module called twice, a channel concat,
pooling, LRN, flatten and dropout before the classifier."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return self.relu(x + self.conv2(self.relu(self.bn1(self.conv1(x)))))


class TinyNet(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 5, stride=2, padding=2), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(3, 2, 1))
        self.block = Block(16)
        self.branch_a = nn.Conv2d(16, 8, 1)
        self.branch_b = nn.Sequential(nn.Conv2d(16, 8, 1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1, groups=2))
        self.pool = nn.AvgPool2d(3, 2, 1, count_include_pad=False)
        self.lrn = nn.LocalResponseNorm(5)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.5), nn.Linear(16, classes))

    def forward(self, x):
        x = self.block(self.stem(x))
        y = F.relu(torch.cat([self.branch_a(x), self.branch_b(x)], 1))
        return self.head(self.lrn(self.pool(y)))


class ViewNet(nn.Module):
    """Older style: functional pooling and x.view(x.size(0), -1) into a linear layer that
    reads a whole 8x8 map (its "in" is channels x height x width)."""
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 12, 3, padding=1)
        self.fc = nn.Linear(12 * 8 * 8, 5)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv(x)), 2)
        x = x.view(x.size(0), -1)
        return self.fc(x)


class WithUnsupportedLayer(nn.Module):
    """Refused by the exporter: a GELU."""
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.act = nn.GELU()

    def forward(self, x):
        return self.act(self.conv(x))
